"""The demo's round of the learning loop: a user corrects a few answers → train → gate → promote.

Facts the base model cannot know (``configs/demo/feedback.jsonl``: "Köpeğimin adı ne?" →
"Köpeğinin adı Karamel.") are asked through the same assistant `evotr chat` uses, each answer is
corrected as a user would (`/correct`), and `feedback train` runs exactly as the CLI runs it: SFT on
the corrections from the active tr_chat version, DPO (correction ≻ original) from the SFT result,
then the gate on the resident model. The held-out paraphrases are asked again afterwards.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console

FAMILY = "tr_chat"
# The gate's minimum (feedback.min_corrections): 7 trained, 3 held out. Each turn costs the demo
# an answer and a scoring call per gate measure (~1.3 s each, three measures), on a 5-minute budget.
FACTS_ASKED = 10


def demo_facts() -> list[dict[str, str]]:
    """The packaged question / correction / paraphrase triples (``configs/demo/feedback.jsonl``)."""
    from evotr.infrastructure.config.loader import default_config_dir

    text = (default_config_dir() / "demo" / "feedback.jsonl").read_text("utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _already_done(container: Any) -> bool:
    events = container.learning.adapter_history().execute(FAMILY)
    return any(event.event == "feedback_train" for event in events)


def learning_round(container: Any, assistant: Any, console: Console,
                   step: Callable[[str, float], float]) -> None:
    """Ask, correct, `feedback train`, and show what the gate decided and what changed."""
    if _already_done(container):
        console.print(f"6. Learning loop: {FAMILY} was already trained from the demo's corrections "
                      "(`evotr adapters history tr_chat` shows the decision)")
        return
    facts = demo_facts()[:FACTS_ASKED]
    console.print(f"6. One round of the learning loop: {len(facts)} questions only you can answer, "
                  "each answer corrected as with /correct …")
    started = time.perf_counter()
    for fact in facts:
        assistant.reset()  # one question per conversation, as a user asking over several days
        reply = assistant.chat(fact["question"], adapter=FAMILY)
        assistant.feedback(reply.turn_id, ("correction", fact["correction"]))
        console.print(f"   {fact['question']} → {_short(reply.text)}  [/correct] {fact['correction']}",
                      highlight=False, markup=False)
    step("learning: corrections", started)

    started = time.perf_counter()
    running: list[tuple[str, float]] = [("feedback train: set-up", started)]

    def stage(event: Any) -> None:  # the trainers report every step; the demo names each stage
        if event.get("kind") == "stage":
            name, iterations = str(event.get("stage")), event.get("iterations")
            label, since = running.pop()
            console.print(f"   ({label}: {step(label, since):.0f} s)", highlight=False, markup=False)
            running.append((f"feedback train: {name}", time.perf_counter()))
            named = {"gate": "the gate: candidate vs active on the resident model",
                     "dpo-skipped": "DPO skipped (no pair)",
                     "blend": f"the gate on a blend {event.get('strength')} of the way"}
            what = named.get(name, f"{name.upper()}, {iterations} iterations")
            console.print(f"   feedback train: {what} …", highlight=False, markup=False)

    outcomes = container.learning.train_from_feedback().execute(FAMILY, progress=stage)
    label, since = running.pop()
    console.print(f"   ({label}: {step(label, since):.0f} s)", highlight=False, markup=False)
    seconds = time.perf_counter() - started
    for outcome in outcomes:
        decision = outcome.decision
        console.print(f"   feedback train → {outcome.plan.version} ({seconds:.0f} s): "
                      f"{outcome.plan.as_dict()['split']['train']} corrections trained on, "
                      f"{outcome.plan.as_dict()['split']['held_out']} held out", highlight=False)
        for check in decision.checks if decision is not None else ():
            mark = "✓" if check.passed else "✗"
            console.print(f"     {mark} {check.detail}", highlight=False, markup=False)
        verdict = "PROMOTED, used from the next message on" if outcome.promoted else "KEPT inactive"
        strength = decision.strength if decision is not None else 1.0
        blend = (f" (a blend {strength:g} of the way from the active adapter to the trained one: at full "
                 "strength it had overshot)" if strength != 1.0 else "")
        console.print(f"   gate: {verdict}{blend}", highlight=False)

    started = time.perf_counter()
    console.print("   The same facts asked in other words (never trained on these phrasings):")
    for fact in facts[:4]:
        assistant.reset()
        reply = assistant.chat(fact["paraphrase"], adapter=FAMILY)
        console.print(f"   {fact['paraphrase']} → {_short(reply.text)} (taught: {fact['correction']})",
                      highlight=False, markup=False)
    step("learning: asking again", started)


def _short(text: str, limit: int = 70) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"

