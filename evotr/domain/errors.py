"""Domain errors: each says what was wrong and, where it knows, which name or key."""

from __future__ import annotations


class EvoTrError(Exception):
    """Base of every error EVO-TR raises on purpose (CLI prints these as one line)."""


class DomainValidationError(EvoTrError, ValueError):
    """A value object was built from an invalid value; ``field`` names what was wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class UnknownIntentError(DomainValidationError):
    """An intent name that is not one of the eight."""


class AdapterNameError(DomainValidationError):
    """A family or version name that breaks the naming rules (e.g. path-like)."""


class RegistryRuleError(EvoTrError):
    """A promote/rollback/register call that the registry rules forbid."""


class ContextOverflowError(EvoTrError):
    """The system prompt and the latest message alone do not fit the context budget."""


class TrainingGateClosedError(EvoTrError):
    """Training was requested before enough corrections were collected."""
