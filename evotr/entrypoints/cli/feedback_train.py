"""`evotr feedback train`: SFT on corrections, DPO on preference pairs, a gate, maybe a promotion.

Attached to the `feedback` group in main.py. The decision, with its numbers, is printed and
appended to ``<home>/adapters/history.jsonl`` (`evotr adapters history` shows it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click
from rich.console import Console

from evotr.domain.feedback_training import TrainMethod
from evotr.domain.promotion import PromoteMode
from evotr.entrypoints.cli import render
from evotr.entrypoints.cli.errors import friendly_errors


@click.command("train")
@click.option("--family", default=None, metavar="F",
              help="Train this family (default: every family with enough corrections).")
@click.option("--method", type=click.Choice([m.value for m in TrainMethod]),
              default=TrainMethod.SFT_DPO.value,
              show_default=True, help="SFT on corrections, DPO on (correction ≻ original), or both.")
@click.option("--promote", "promote", type=click.Choice([m.value for m in PromoteMode]),
              default=PromoteMode.AUTO.value, show_default=True,
              help="auto: only when the gate passes; never / always override it.")
@click.option("--dry-run", is_flag=True,
              help="Print the plan (counts, split, stages, iterations); train nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object per family).")
@click.option("--swap-labels", is_flag=True, hidden=True,
              help="Train on reversed labels (a broken candidate) to check that the gate refuses it.")
@click.option("--shuffle-labels", is_flag=True, hidden=True,
              help="Train each question with another's correction (a broken candidate) to check "
                   "that the gate refuses it.")
@click.pass_obj
@friendly_errors
def feedback_train(state: Any, family: str | None, method: str, promote: str, dry_run: bool,
                   as_json: bool, swap_labels: bool, shuffle_labels: bool) -> None:
    """Train the next version of a family from its corrections; promote it only if it wins.

    Refuses until the family has `feedback.min_corrections` corrections (default 10) and says
    how many are missing. The candidate is compared with the active version (or the base model)
    on held-out corrections; it is kept registered but inactive when it does not win.
    """
    if swap_labels and shuffle_labels:
        raise click.UsageError("--swap-labels and --shuffle-labels are two different self-tests; pick one")
    labels = "swapped" if swap_labels else "shuffled" if shuffle_labels else "true"
    container = state.container()
    use_case = container.learning.train_from_feedback()
    say = _Reporter(quiet=as_json)
    if dry_run:
        outcomes = use_case.execute(family, method=method, promote=promote, dry_run=True,
                                    labels=labels)
    else:
        with container.storage.background_training().hold(family or "every ready family"):
            outcomes = use_case.execute(family, method=method, promote=promote, labels=labels,
                                        progress=say)
    if as_json:
        render.print_json(Console(), [o.as_dict() for o in outcomes])
        return
    for outcome in outcomes:
        _print_plan(outcome.plan)
        if not outcome.trained:
            click.echo("  dry run: nothing was trained")
        else:
            _print_result(outcome)


class _Reporter:
    """Stage lines on stderr while training (the trainers report every few steps)."""

    def __init__(self, *, quiet: bool) -> None:
        self._quiet = quiet

    def __call__(self, event: Mapping[str, object]) -> None:
        if self._quiet:
            return
        kind = event.get("kind")
        if kind == "stage":
            stage = event.get("stage")
            if stage == "gate":
                text = "measuring candidate vs active on the resident model…"
            elif stage == "blend":
                text = (f"gate: trying a gentler candidate, {event.get('strength'):g} of the way from the "
                        "active adapter to the trained one…")
            elif stage == "dpo-skipped":
                text = "DPO skipped: no (correction, original reply) pair, every corrected reply was empty"
            else:
                text = f"{str(stage).upper()}: {event.get('iterations')} iterations…"
            click.echo(text, err=True)
        elif kind == "dpo" and isinstance(event.get("loss"), float):
            click.echo(f"  dpo it {event.get('iteration')}: loss {event['loss']:.4f}, "
                       f"accuracy {_num(event.get('accuracy'))}, margin {_num(event.get('margin'))}",
                       err=True)
        elif kind == "dpo-pairs":
            left = event.get("unranked")
            pairs = event.get("pairs")
            text = (f"  dpo: the starting policy already prefers the correction in all {pairs} pairs; "
                    "nothing left for DPO to fix" if not left else
                    f"  dpo: {left} of {pairs} pairs still prefer the original; training on those")
            click.echo(text, err=True)
        elif kind == "dpo-stopped":
            click.echo(f"  dpo stopped at it {event.get('iteration')}: the epoch's mean loss is ≤ "
                       f"{event.get('stop_loss')} (every pair ranked; more steps would only drift)", err=True)


def _num(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else "—"


def _print_plan(plan: Any) -> None:
    d = plan.as_dict()
    start = d["starts_from"] or "the base model (no active version)"
    click.echo(f"{plan.family}: {d['corrections']} corrections (min {d['min_corrections']}) → "
               f"{d['split']['train']} train / {d['split']['held_out']} held-out (by turn-id hash); "
               f"{d['train_pairs']} train pairs, {d['held_out_pairs']} held-out pairs")
    stages = []
    if d["sft"]:
        replay = (f", + {plan.replay_rows} general rows replayed" if plan.replay_rows else "")
        stages.append(f"SFT {d['sft']['iterations']} iterations (lr {d['sft']['learning_rate']:g}, "
                      f"batch {d['sft']['batch_size']}, prompt masked{replay}) from {start}")
    if d["dpo"]:
        origin = "the SFT result" if d["sft"] else start
        stop = d["dpo"]["stop_loss"]
        until = f", stops early at epoch loss ≤ {stop:g}" if stop is not None else ""
        stages.append(f"DPO ≤ {d['dpo']['iterations']} iterations (lr {d['dpo']['learning_rate']:g}, "
                      f"beta {d['dpo']['beta']:g}{until}) from {origin}")
    lora = d["lora"]
    click.echo(f"  → {plan.version}: " + " → ".join(stages)
               + f"; LoRA rank {lora['rank']}, {lora['num_layers']} layers")
    if plan.swap_labels:
        click.echo("  (--swap-labels: trained on REVERSED labels, a deliberately broken candidate)")
    elif plan.labels.value == "shuffled":
        click.echo("  (--shuffle-labels: each question trained with ANOTHER question's correction, "
                   "a deliberately broken candidate)")


def _print_result(outcome: Any) -> None:
    d = outcome.as_dict()
    parts = []
    if d["sft"]:
        s = d["sft"]
        parts.append(f"SFT val loss {_num(s['start_val_loss'])} → {_num(s['final_val_loss'])}")
        if d["replay"]:
            parts.append(f"{d['replay']['rows']} rows of {d['replay']['data']} replayed")
    if d["dpo"] and not d["dpo"]["final"]:
        parts.append("DPO: every pair already ranked, no step")
    if d["dpo"] and d["dpo"]["final"]:
        f = d["dpo"]["final"]
        parts.append(f"DPO {d['dpo']['iterations_run']} steps, final accuracy {f['accuracy']:.2f}, "
                     f"margin {f['margin']:+.3f}")
    click.echo(f"  trained {outcome.plan.version}" + (f" ({'; '.join(parts)})" if parts else ""))
    decision = outcome.decision
    for tried in outcome.blends[:-1] if decision.strength != 1.0 else outcome.blends[1:]:
        # the strengths that did not become the candidate, each with why
        click.echo(f"  gate at strength {tried['strength']:g}: "
                   + ("passed" if tried["passed"] else "refused: " + "; ".join(tried["reasons"])))
    blend = (f" at strength {decision.strength:g} (weights {decision.strength:g} of the way from "
             f"{decision.active.label} to the trained adapter)" if decision.strength != 1.0 else "")
    click.echo(f"  gate: {decision.candidate.label}{blend} vs {decision.active.label}")
    for check in decision.checks:
        click.echo(f"    {'✓' if check.passed else '✗'} {check.detail}")
    loss_c, loss_a = decision.candidate.held_out_loss, decision.active.held_out_loss
    if loss_c is not None and loss_a is not None:
        click.echo(f"    · held-out corrections val loss: {decision.active.label} {loss_a.loss:.4f}, "
                   f"candidate {loss_c.loss:.4f} (reported, not a criterion)")
    version = outcome.plan.version
    if decision.promote:
        click.echo(f"  → {version} PROMOTED: it is now the active version of {version.family}"
                   + (" (--promote always)" if not decision.passed else ""))
    else:
        why = "--promote never" if decision.mode is PromoteMode.NEVER else "the gate refused it"
        click.echo(f"  → {version} KEPT, not active ({why}); "
                   f"`evotr adapters promote {version}` makes it active anyway")
