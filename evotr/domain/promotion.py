"""The promotion gate's rule: when a candidate trained on feedback replaces the active adapter.

Held-out feedback is about questions the candidate was not taught, so it cannot be expected to
*know* those answers. A candidate is promoted (``auto``) only when it (a) learned its training
corrections (chosen ranked above rejected on at least ``learned_share`` of the train pairs, and
by a mean margin no smaller than the active model's),
(b) is at least as good as the active model on the held-out pairs, within ``tolerance``, and
(c) does not raise the validation loss on the family's general data by more than
``max_regression``. Every check says why in numbers.
"""

from __future__ import annotations

from enum import StrEnum

import attrs

from evotr.domain.errors import DomainValidationError
from evotr.domain.evaluation import LossResult, PreferenceResult
from evotr.domain.validation import parse_enum


class PromoteMode(StrEnum):
    """``auto``: promote when the gate passes; ``never`` / ``always``: the user overrides it."""

    NEVER = "never"
    AUTO = "auto"
    ALWAYS = "always"

    @classmethod
    def parse(cls, name: str) -> PromoteMode:
        """Parse a mode name; unknown names list the valid ones."""
        return parse_enum(cls, name, "promote", "promote mode")


def _share(_inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise DomainValidationError(attribute.name, f"must be a number from 0 to 1, got {value!r}")


@attrs.frozen(slots=True)
class GatePolicy:
    """The gate's thresholds (``feedback.learned_share``, ``tolerance``, ``max_regression``)."""

    learned_share: float = attrs.field(default=0.8, validator=_share)
    tolerance: float = attrs.field(default=0.05, validator=_share)
    max_regression: float = attrs.field(default=0.05, validator=_share)


@attrs.frozen(slots=True)
class ModelMeasures:
    """One model (the candidate, the active version, or the base model) measured by the gate."""

    label: str
    held_out: PreferenceResult
    train: PreferenceResult
    held_out_loss: LossResult | None = None
    regression_loss: LossResult | None = None
    # Training turns whose own correction beats other questions' corrections (see training_labels).
    matched: PreferenceResult | None = None

    def as_dict(self) -> dict[str, object]:
        """The JSON shape kept in the manifest and history.jsonl."""
        return {
            "model": self.label,
            "held_out_preference": self.held_out.as_dict(),
            "train_preference": self.train.as_dict(),
            "held_out_val_loss": None if self.held_out_loss is None else self.held_out_loss.loss,
            "regression_val_loss": None if self.regression_loss is None else self.regression_loss.loss,
            "matched_preference": None if self.matched is None else self.matched.as_dict(),
        }


@attrs.frozen(slots=True)
class GateCheck:
    """One criterion: its name, whether it passed, and the numbers behind it."""

    name: str
    passed: bool
    detail: str

    def as_dict(self) -> dict[str, object]:
        """``{"check", "passed", "detail"}``."""
        return {"check": self.name, "passed": self.passed, "detail": self.detail}


@attrs.frozen(slots=True)
class GateDecision:
    """What the gate measured, what it concluded, and what was done (mode may override)."""

    candidate: ModelMeasures
    active: ModelMeasures
    checks: tuple[GateCheck, ...]
    mode: PromoteMode
    regression_data: str | None = None
    # The share of the way from the active adapter (or the base model) to the trained one that
    # was measured: 1.0 the trained adapter itself, less a blend (see blend_strengths).
    strength: float = 1.0

    @property
    def passed(self) -> bool:
        """Whether every check passed."""
        return all(check.passed for check in self.checks)

    @property
    def promote(self) -> bool:
        """Whether the candidate becomes active: the gate's verdict unless the mode overrides it."""
        if self.mode is PromoteMode.AUTO:
            return self.passed
        return self.mode is PromoteMode.ALWAYS

    @property
    def reasons(self) -> list[str]:
        """Why: the failed checks (all checks when every one passed), plus any override."""
        failed = [c.detail for c in self.checks if not c.passed]
        said = failed or [c.detail for c in self.checks]
        if self.mode is PromoteMode.ALWAYS and failed:
            said.append("promoted anyway: --promote always")
        elif self.mode is PromoteMode.NEVER:
            said.append("not promoted: --promote never")
        return said

    @property
    def verdict(self) -> str:
        """``promoted`` or ``kept`` (registered, not active)."""
        return "promoted" if self.promote else "kept"

    def as_dict(self) -> dict[str, object]:
        """The JSON shape of the decision (manifest, history.jsonl, ``--json``)."""
        return {
            "decision": self.verdict, "gate_passed": self.passed, "mode": self.mode.value,
            "checks": [c.as_dict() for c in self.checks], "reasons": self.reasons,
            "candidate": self.candidate.as_dict(), "active": self.active.as_dict(),
            "regression_data": self.regression_data, "strength": self.strength,
        }

    @property
    def worth_a_blend(self) -> bool:
        """Whether a gentler blend may pass: it learned its corrections but failed another check."""
        learned = [c for c in self.checks if c.name in ("learned", "matched")]
        return not self.passed and all(c.passed for c in learned)


def _pref(result: PreferenceResult) -> str:
    return f"{result.accuracy:.2f} ({result.wins}/{result.pairs}, mean margin {result.mean_margin:+.3f})"


def _learned(candidate: ModelMeasures, active: ModelMeasures, policy: GatePolicy) -> GateCheck:
    ok = candidate.train.pairs > 0 and candidate.train.accuracy >= policy.learned_share
    sign = "≥" if ok else "<"
    detail = (f"learned its training corrections: preference accuracy {_pref(candidate.train)} {sign} "
              f"{policy.learned_share:.2f} required")
    # Trained on these very corrections, a candidate that prefers them LESS than the active model
    # moved away from them (a resumed adapter trained on wrong labels keeps some of the right
    # preference it started with, and can still clear the share): not learned, not better.
    if ok and active.train.pairs > 0 and candidate.train.mean_margin < active.train.mean_margin:
        return GateCheck("learned", False, f"{detail}, but its mean margin "
                                           f"{candidate.train.mean_margin:+.3f} < {active.label}'s "
                                           f"{active.train.mean_margin:+.3f}: it prefers them less "
                                           f"than the active model does")
    return GateCheck("learned", ok, detail)


def _matched(candidate: ModelMeasures, active: ModelMeasures, policy: GatePolicy) -> GateCheck:
    """Each training correction fits its own question at least as well as before (not just its style)."""
    after, before = candidate.matched, active.matched
    if after is None or before is None or after.pairs == 0:
        return GateCheck("matched", True, "matched: fewer than two different training corrections; "
                                          "not checked")
    floor = before.accuracy - policy.tolerance
    ok = after.accuracy >= floor - 1e-12
    sign = "≥" if ok else "<"
    return GateCheck("matched", ok, f"answers fit their own questions (own correction ≻ other "
                                    f"questions'): candidate {_pref(after)} {sign} {floor:.2f} = "
                                    f"{active.label} {_pref(before)} − tolerance {policy.tolerance:.2f}")


def _held_out(candidate: ModelMeasures, active: ModelMeasures, policy: GatePolicy) -> GateCheck:
    floor = active.held_out.accuracy - policy.tolerance
    ok = candidate.held_out.pairs > 0 and candidate.held_out.accuracy >= floor - 1e-12
    sign = "≥" if ok else "<"
    return GateCheck("held_out", ok, f"held-out pairs: candidate {_pref(candidate.held_out)} {sign} "
                                     f"{floor:.2f} = {active.label} {_pref(active.held_out)} − "
                                     f"tolerance {policy.tolerance:.2f}")


def _regression(candidate: ModelMeasures, active: ModelMeasures, policy: GatePolicy,
                data: str | None) -> GateCheck:
    before, after = active.regression_loss, candidate.regression_loss
    if data is None or before is None or after is None:
        return GateCheck("regression", True, "regression: no prepared valid.jsonl for this family "
                                             "(the active version's manifest names none); not checked")
    rise = (after.loss - before.loss) / before.loss if before.loss > 0 else after.loss - before.loss
    ok = rise <= policy.max_regression + 1e-12
    sign = "≤" if ok else ">"
    return GateCheck("regression", ok, f"regression on {data}: val loss {active.label} {before.loss:.4f} → "
                                       f"candidate {after.loss:.4f} ({rise:+.1%} {sign} "
                                       f"+{policy.max_regression:.1%} allowed)")


def decide(candidate: ModelMeasures, active: ModelMeasures, policy: GatePolicy,
           mode: PromoteMode = PromoteMode.AUTO, regression_data: str | None = None,
           strength: float = 1.0) -> GateDecision:
    """Judge ``candidate`` against ``active`` (the active version, or the base model)."""
    checks = (_learned(candidate, active, policy), _matched(candidate, active, policy),
              _held_out(candidate, active, policy), _regression(candidate, active, policy, regression_data))
    return GateDecision(candidate, active, checks, mode, regression_data, strength)


# Gentler candidates the gate tries, in order, when the trained adapter learned its corrections
# but failed another check: weights moved only this share of the way from the active adapter (or
# the base model) — weight-space interpolation as in WiSE-FT (Wortsman et al., 2022). Measured on
# Gemma 3 270M (7 corrections, SFT with replay): everyday val loss base 4.69 → 5.91 at 1.0, 3.89
# at 0.5, 3.31 at 0.25; the trained adapter had overshot, not learned the wrong thing.
BLEND_STRENGTHS = (0.5, 0.25)
