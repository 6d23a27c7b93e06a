"""Gemini API keys from the environment, never shown in full.

Google counts free-tier quota per Cloud *project*, not per key: two keys from the same project
share one quota, so only keys from different projects add throughput.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping

from evotr.domain.errors import EvoTrError

PRIMARY_VARIABLE = "GOOGLE_API_KEY"
_NUMBERED = re.compile(rf"^{PRIMARY_VARIABLE}_(\d+)$")


def mask(secret: str) -> str:
    """``…`` plus the last 4 characters (only ``…`` for keys too short to hide the rest)."""
    return "…" + secret[-4:] if len(secret) >= 12 else "…"


class ApiKey:
    """One API key and the environment variable it came from; repr/str show only ``…last4``."""

    __slots__ = ("_secret", "name")

    def __init__(self, name: str, secret: str) -> None:
        if not secret.strip():
            raise ValueError(f"{name}: the API key is empty")
        self.name = name
        self._secret = secret.strip()

    @property
    def secret(self) -> str:
        """The key itself, for the HTTP client only (never log or format it)."""
        return self._secret

    @property
    def masked(self) -> str:
        """``…last4``: safe for logs and messages."""
        return mask(self._secret)

    @property
    def budget_id(self) -> str:
        """``NAME#<12 hex of SHA-256(key)>``: names the key's quota in the request log, never the key.

        A new key under the same variable gets a new id (a new budget); 48 bits of a hash of a
        39-character random key reveal nothing usable about it.
        """
        digest = hashlib.sha256(self._secret.encode("utf-8")).hexdigest()
        return f"{self.name}#{digest[:12]}"

    def __repr__(self) -> str:
        return f"ApiKey({self.name}, {self.masked})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ApiKey) and other._secret == self._secret

    def __hash__(self) -> int:
        return hash(self._secret)


class NoApiKeysError(EvoTrError):
    """No API key is set; the message names the variables read (never their values)."""

    def __init__(self, variables: Iterable[str]) -> None:
        self.variables = list(variables)
        super().__init__(
            "no Gemini API key: set GOOGLE_API_KEY (more keys, from other Google Cloud projects: "
            "GOOGLE_API_KEY_2, GOOGLE_API_KEY_3, …); read: " + ", ".join(self.variables)
        )


def key_variables(env: Mapping[str, str]) -> list[str]:
    """``GOOGLE_API_KEY`` then every ``GOOGLE_API_KEY_<n>`` present in ``env``, sorted by n."""
    numbered = sorted((int(m.group(1)), name) for name in env if (m := _NUMBERED.match(name)))
    return [PRIMARY_VARIABLE, *(name for _, name in numbered)]


def load_api_keys(env: Mapping[str, str]) -> list[ApiKey]:
    """Every non-empty key among :func:`key_variables`, in that order, duplicates dropped.

    Gaps are allowed (``GOOGLE_API_KEY_2`` and ``GOOGLE_API_KEY_5`` are both read). Raises
    NoApiKeysError when none is set.
    """
    keys: list[ApiKey] = []
    names = key_variables(env)
    for name in names:
        value = env.get(name, "")
        if value.strip() and ApiKey(name, value) not in keys:
            keys.append(ApiKey(name, value))
    if not keys:
        raise NoApiKeysError(names)
    return keys
