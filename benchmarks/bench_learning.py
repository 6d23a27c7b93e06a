"""Learning-loop benchmark (issue 11 item 9): do K corrections teach the real model K personal facts?

    python benchmarks/bench_learning.py [--ks 10,25,50] [--quick] [--real-model DIR]
        [--method sft|dpo|sft+dpo] [--broken shuffled,swapped] [--broken-ks largest|all|10,50]
        [--work DIR] [--out FILE]

On Gemma 3 270M (the fp32 mlx folder ``evotr model pull gemma-3-270m`` or the real-model tests make;
``--real-model``, else ``~/.cache/evotr-tests/models/gemma-3-270m``) and the 60 Turkish personal facts
of ``benchmarks/data/learning_facts.jsonl`` (question, answer, key: the fact word, paraphrase: a
held-out phrasing):

1. **The user asks.** In a fresh home (`evotr init`, ``model.path`` set to the model), the library
   API (``build_assistant(home=...)``) asks the first max(K) questions, one conversation each
   (``assistant.reset()``), routed as chat routes them (``adapter=auto``), sampled as configured
   (temperature 0.7, seed 0; answers capped at ``--answer-tokens`` so the CPU run fits).
2. **The user corrects.** For each K, a copy of that home gets ``assistant.feedback(turn_id,
   ("correction", answer))`` on the first K answers: a fresh home per K (no adapter, K corrections),
   the answers identical across K (the same user corrects more or fewer of them). A question the
   router sent to another family is corrected with ``intent="general_chat"`` (a misroute correction,
   as ``/correct --intent`` is) so that every correction trains ``tr_chat``; how many is recorded.
3. **Before** (once; every fresh home serves the base model): on one resident ``LLMBackend`` (the
   home's container's ``models.llm``, hot-swap) the base model's greedy answer to each paraphrase,
   with the same persona chat sends (``[system persona, user paraphrase]``, what a chat turn sends
   with an empty history), up to ``--eval-tokens``. Measured: preference accuracy (share of facts
   whose answer gets a higher summed log-probability than the base model's own greedy answer:
   ``LLMBackend.logprobs(messages, [answer, base_greedy], adapter)``) and the exact-fact rate (the
   key, Turkish-lower-cased, appears in the greedy answer).
4. **Train.** ``evotr --home H feedback train --family tr_chat --json [--method M]`` in its own
   process: wall time, and its peak RSS from ``os.wait4``'s rusage; the gate's decision and numbers
   come from its JSON.
5. **After:** the same measures with the new version switched in (promoted or not), against the
   same rejected answers (the base model's greedy ones). Also split into the facts the run trained
   on and the ones ``feedback train`` held out for its gate (never trained on), and measured on
   control facts nobody corrected (ids ≥ max K): a style-only gain shows up there.
6. **Memory:** the training process's peak RSS over that of a process that only loads the base
   model through the backend and scores one pair (target: < 2, one copy of the base model).
7. **Broken candidates** (``--broken``, at ``--broken-ks``, default the largest K):
   ``shuffled``: the K home's true corrections trained with ``feedback train --shuffle-labels``
   (each question trained with another question's correction); ``swapped``: trained with
   ``--swap-labels`` (SFT on the original answers, DPO original ≻ correction). In both the gate
   judges the true labels. The target is that the gate promotes neither.

Prints a table, writes ``benchmarks/results/learning.json``; exits 1 if a target is missed.
Targets: preference accuracy after ≥ 0.9 at the largest K (50 in a full run), every broken
candidate refused, peak RSS ratio < 2. ``--quick`` runs K = 10 only (``feedback train`` has no
iteration option: it scales its iterations to the data). Each heavy phase runs in its own
process (``--worker``), so each peak is measurable.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

from bench_support import MB, console, finish, machine_info, write_json  # noqa: E402

RESULTS = _HERE / "results" / "learning.json"
FACTS = _HERE / "data" / "learning_facts.jsonl"
EVOTR = str(Path(sys.executable).with_name("evotr"))
FAMILY = "tr_chat"
FAMILY_INTENT = "general_chat"  # the intent a misrouted personal question is corrected to
TARGETS = {"preference_accuracy_min": 0.9, "preference_accuracy_at_k": 50, "peak_rss_ratio_max": 2.0,
           "broken_candidates_promoted": 0}
CONTROLS = 10  # uncorrected facts measured as a control
SEED = 0


# ---------------------------------------------------------------------------------------------
# Pure parts (tested without a model)


def load_facts(path: Path = FACTS) -> list[dict[str, Any]]:
    """The facts file: one ``{id, question, answer, key, paraphrase}`` object a line."""
    facts = []
    for number, line in enumerate(Path(path).read_text("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        fact = json.loads(line)
        missing = {"id", "question", "answer", "key", "paraphrase"} - set(fact)
        if missing:
            raise ValueError(f"{path}:{number}: missing {', '.join(sorted(missing))}")
        facts.append(fact)
    return facts


def fold(text: str) -> str:
    """Turkish lower case (İ→i, I→ı), NFC; diacritics kept: "Tarcin" is not "Tarçın"."""
    from evotr.domain.text import turkish_lower

    return turkish_lower(unicodedata.normalize("NFC", text))


def has_fact(answer: str, key: str) -> bool:
    """Whether the fact's key appears in ``answer`` (Turkish-aware case folding)."""
    return fold(key) in fold(answer)


def parse_ks(text: str) -> list[int]:
    """``"10,25,50"`` → ``[10, 25, 50]`` (sorted, unique, each ≥ 1)."""
    ks = sorted({int(part) for part in text.split(",") if part.strip()})
    if not ks or ks[0] < 1:
        raise argparse.ArgumentTypeError(f"--ks wants positive numbers, got {text!r}")
    return ks


def broken_ks(text: str, ks: Sequence[int]) -> list[int]:
    """``largest``, ``all``, ``none`` or a list of Ks (each one of ``ks``)."""
    if text == "largest":
        return [max(ks)]
    if text == "all":
        return list(ks)
    if text == "none":
        return []
    chosen = parse_ks(text)
    unknown = [k for k in chosen if k not in ks]
    if unknown:
        raise argparse.ArgumentTypeError(f"--broken-ks {unknown} not among --ks {list(ks)}")
    return chosen


def score(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Preference accuracy (chosen strictly above rejected), exact-fact rate, mean margin, n."""
    n = len(rows)
    if not n:
        return {"n": 0, "preference_accuracy": None, "exact_fact_rate": None, "mean_margin": None,
                "fact_accuracy": None}
    wins = sum(1 for r in rows if r["chosen_logprob"] > r["rejected_logprob"])
    exact = sum(1 for r in rows if r["exact"])
    margin = sum(r["chosen_logprob"] - r["rejected_logprob"] for r in rows) / n
    known = [r for r in rows if r.get("decoy_logprob") is not None]
    fact_wins = sum(1 for r in known if r["chosen_logprob"] > r["decoy_logprob"])
    return {"n": n, "wins": wins, "preference_accuracy": wins / n, "exact": exact,
            "exact_fact_rate": exact / n, "mean_margin": margin,
            "fact_accuracy": fact_wins / len(known) if known else None}


def with_decoys(facts: Sequence[dict[str, Any]], controls: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each fact plus ``decoy``: its answer with the key swapped for a CONTROL fact's key.

    The answer and the decoy differ in the fact word alone (same style, same length), and the
    decoy word is never taught, so "answer ≻ decoy" measures whether the model knows the fact —
    where the base model's own answer as the rejected one mostly measures the answers' style.
    Control facts get another control's key: neither is taught, so they stay near chance.
    """
    keys = [c["key"] for c in controls]
    out = []
    for fact in facts:
        options = [k for k in keys if k != fact["key"]]
        decoy_key = options[fact["id"] % len(options)]
        out.append({**fact, "decoy": fact["answer"].replace(fact["key"], decoy_key)})
    return out


def subset(rows: Sequence[dict[str, Any]], ids: Sequence[int] | set[int]) -> list[dict[str, Any]]:
    """The rows of the facts ``ids``."""
    wanted = set(ids)
    return [r for r in rows if r["id"] in wanted]


def wait_measured(cmd: Sequence[str], env: dict[str, str], log: Path) -> dict[str, Any]:
    """Run ``cmd`` to the end; its exit code, wall seconds, peak RSS (bytes, wait4) and stdout.

    stdout and stderr go to ``log``.out/.err (the JSON a command prints is read back from .out).
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    out_path, err_path = log.with_suffix(".out"), log.with_suffix(".err")
    started = time.perf_counter()
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = subprocess.Popen(list(cmd), stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    peak = int(usage.ru_maxrss) * (1 if sys.platform == "darwin" else 1024)
    return {"returncode": proc.returncode, "seconds": seconds, "peak_rss_bytes": peak,
            "stdout": out_path.read_text("utf-8", errors="replace"),
            "stderr_tail": err_path.read_text("utf-8", errors="replace")[-2000:]}


def set_home_model(home: Path, model: Path, answer_tokens: int) -> None:
    """Point a home's evotr.yaml at ``model``; cap and seed the sampled answers."""
    import yaml

    config_file = home / "evotr.yaml"
    config = yaml.safe_load(config_file.read_text("utf-8"))
    config["model"]["path"] = str(Path(model).resolve())
    config["sampling"]["max_tokens"] = answer_tokens
    config["sampling"]["seed"] = SEED
    config_file.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), "utf-8")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("EVOTR_HOME", "EVOTR_CONFIG")}
    env["HF_HUB_OFFLINE"] = "1"
    return env


def fmt_pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def arrow(before: float | None, after: float | None) -> str:
    return f"{fmt_pct(before)} → {fmt_pct(after)}"


# ---------------------------------------------------------------------------------------------
# Workers: each runs in its own interpreter (`--worker NAME SPEC OUT`)


def _container(home: Path) -> Any:
    from evotr.infrastructure.mlx.blas import configure_blas

    configure_blas()  # before anything imports mlx
    from evotr.container import build_container

    return build_container(None, home, env={})


def worker_load(spec: dict[str, Any]) -> dict[str, Any]:
    """Only the base model through the backend, and one scored pair (weights evaluated)."""
    from evotr.domain.conversation import Message, Role

    container = _container(Path(spec["home"]))
    started = time.perf_counter()
    llm = container.models.llm()
    llm.load()
    load_s = time.perf_counter() - started
    messages = [Message(Role.SYSTEM, container.settings().persona), Message(Role.USER, "Merhaba")]
    llm.logprobs(messages, ["Merhaba!", "Selam."])
    return {"load_s": load_s}


def worker_ask(spec: dict[str, Any]) -> dict[str, Any]:
    """The user asks each question once, in its own conversation, through the library API."""
    from evotr import build_assistant

    home = Path(spec["home"])
    assistant = build_assistant(home=home, env={})
    container = _container(home)
    mapping = container.settings().intents
    asked = []
    for fact in spec["facts"]:
        assistant.reset()
        started = time.perf_counter()
        reply = assistant.chat(fact["question"])
        asked.append({"id": fact["id"], "turn_id": str(reply.turn_id), "intent": reply.intent.value,
                      "family": mapping.family_for(reply.intent).name, "confidence": reply.confidence,
                      "fallback": reply.fallback, "reply": reply.text,
                      "seconds": time.perf_counter() - started})
    return {"asked": asked}


def worker_correct(spec: dict[str, Any]) -> dict[str, Any]:
    """``assistant.feedback(turn_id, ("correction", text))`` on each asked turn given."""
    from evotr import build_assistant

    assistant = build_assistant(home=Path(spec["home"]), env={}, warm_up=False)
    misroutes = 0
    for item in spec["corrections"]:
        intent = None if item["family"] == FAMILY else FAMILY_INTENT
        misroutes += intent is not None
        assistant.feedback(item["turn_id"], ("correction", item["text"]), intent=intent)
    stats = assistant.stats()
    return {"corrections": len(spec["corrections"]), "misroute_corrections": misroutes,
            "stats": str(stats)}


def worker_evaluate(spec: dict[str, Any]) -> dict[str, Any]:
    """Greedy answers to the paraphrases and the preference pairs, on ONE resident model.

    ``adapter``/``folder`` (optional) is switched in by hot-swap; ``rejected`` per fact (the
    base model's greedy answer) is scored against the fact's answer; without it the model's own
    greedy answer is the rejected one (the "before" run on the base model).
    """
    from evotr.domain.adapters import AdapterVersion
    from evotr.domain.conversation import Message, Role
    from evotr.domain.sampling import SamplingParams

    container = _container(Path(spec["home"]))
    persona = container.settings().persona
    llm = container.models.llm()
    llm.load()
    adapter = None
    if spec.get("adapter"):
        adapter = AdapterVersion.parse(spec["adapter"])
        llm.register_adapter(adapter, Path(spec["folder"]))
    params = SamplingParams(temperature=0.0, max_tokens=int(spec["eval_tokens"]))
    rows = []
    started = time.perf_counter()
    for fact in spec["facts"]:
        messages = [Message(Role.SYSTEM, persona), Message(Role.USER, fact["paraphrase"])]
        greedy = llm.generate(messages, params, adapter)
        rejected = fact.get("rejected", greedy)
        chosen_lp, rejected_lp, decoy_lp = llm.logprobs(messages, [fact["answer"], rejected, fact["decoy"]],
                                                        adapter)
        rows.append({"id": fact["id"], "greedy": greedy, "rejected": rejected, "decoy": fact["decoy"],
                     "chosen_logprob": float(chosen_lp), "rejected_logprob": float(rejected_lp),
                     "decoy_logprob": float(decoy_lp),
                     "exact": has_fact(greedy, fact["key"])})
    return {"adapter": spec.get("adapter"), "rows": rows, "seconds": time.perf_counter() - started}


WORKERS = {"load": worker_load, "ask": worker_ask, "correct": worker_correct, "evaluate": worker_evaluate}


def run_worker(name: str, spec: dict[str, Any], work: Path, tag: str) -> dict[str, Any]:
    """``--worker name`` in a fresh interpreter; its result, seconds and peak RSS (wait4)."""
    spec_file, out_file = work / "specs" / f"{tag}.json", work / "specs" / f"{tag}.out.json"
    write_json(spec, spec_file)
    done = wait_measured([sys.executable, str(Path(__file__).resolve()), "--worker", name,
                          str(spec_file), str(out_file)], _env(), work / "logs" / tag)
    if done["returncode"] != 0:
        raise RuntimeError(f"worker {name} ({tag}) failed with exit code {done['returncode']}:\n"
                           f"{done['stderr_tail']}")
    result = json.loads(out_file.read_text("utf-8"))
    result["_process"] = {"seconds": done["seconds"], "peak_rss_bytes": done["peak_rss_bytes"]}
    return result  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------------
# The phases


def make_home(home: Path, model: Path, answer_tokens: int, work: Path) -> Path:
    """`evotr init` (the CLI, as a user runs it), then the model and sampling in its evotr.yaml."""
    done = wait_measured([EVOTR, "--home", str(home), "init"], _env(), work / "logs" / f"init-{home.name}")
    if done["returncode"] != 0:
        raise RuntimeError(f"evotr init failed: {done['stderr_tail']}")
    set_home_model(home, model, answer_tokens)
    return home


def copy_home(source: Path, target: Path) -> Path:
    """A copy of a home whose turns are stored (evotr.yaml says ``home: .``: it moves with it)."""
    shutil.copytree(source, target)
    return target


def feedback_train(home: Path, work: Path, tag: str, method: str | None,
                   extra: Sequence[str] = ()) -> dict[str, Any]:
    """`evotr --home H feedback train --family tr_chat --json` in its own process, measured."""
    cmd = [EVOTR, "--home", str(home), "feedback", "train", "--family", FAMILY, "--json"]
    if method:
        cmd += ["--method", method]
    done = wait_measured([*cmd, *extra], _env(), work / "logs" / tag)
    run: dict[str, Any] = {"command": " ".join(cmd[1:] + list(extra)), "returncode": done["returncode"],
                           "seconds": done["seconds"], "peak_rss_bytes": done["peak_rss_bytes"]}
    if done["returncode"] != 0:
        run["error"] = done["stderr_tail"]
        return run
    try:
        [outcome] = json.loads(done["stdout"])
    except ValueError as exc:
        run["error"] = f"unreadable JSON ({exc}): {done['stdout'][-500:]}"
        return run
    run["outcome"] = outcome
    gate = outcome.get("gate") or {}
    run.update(version=outcome.get("version"), folder=outcome.get("folder"),
               promoted=bool(outcome.get("promoted")), decision=gate.get("decision"),
               gate_passed=gate.get("gate_passed"), reasons=gate.get("reasons"))
    return run


def gate_summary(run: dict[str, Any]) -> dict[str, Any]:
    """The gate's numbers for the table: learned share and held-out accuracy, candidate vs active."""
    gate = (run.get("outcome") or {}).get("gate") or {}
    cand, act = gate.get("candidate") or {}, gate.get("active") or {}

    def acc(measures: dict[str, Any], key: str) -> float | None:
        value = (measures.get(key) or {}).get("accuracy")
        return None if value is None else float(value)

    return {"candidate_train_accuracy": acc(cand, "train_preference"),
            "candidate_held_out_accuracy": acc(cand, "held_out_preference"),
            "active_held_out_accuracy": acc(act, "held_out_preference"),
            "active_train_accuracy": acc(act, "train_preference")}


def run_k(k: int, facts: list[dict[str, Any]], asked: list[dict[str, Any]], base_rows: list[dict[str, Any]],
          controls: list[dict[str, Any]], args: argparse.Namespace, work: Path, base_peak: int,
          say: Any) -> dict[str, Any]:
    """One K: a fresh home with K corrections, `feedback train`, before/after on the paraphrases."""
    home = copy_home(work / "asked", work / f"home-k{k}")
    corrections = [{"turn_id": a["turn_id"], "family": a["family"], "text": f["answer"]}
                   for a, f in zip(asked[:k], facts[:k], strict=True)]
    corrected = run_worker("correct", {"home": str(home), "corrections": corrections}, work, f"correct-k{k}")
    say(f"K={k}: {k} corrections stored ({corrected['misroute_corrections']} as misroute corrections); "
        "feedback train …")
    for kind in args.broken if k in args.broken_ks_list else []:
        copy_home(home, work / f"home-k{k}-{kind}")  # the same true corrections, before training
    train = feedback_train(home, work, f"train-k{k}", args.method)
    ids = [f["id"] for f in facts[:k]]
    before = score(subset(base_rows, ids))
    result: dict[str, Any] = {"k": k, "home": str(home), "corrections": k,
                              "misroute_corrections": corrected["misroute_corrections"],
                              "train": train, "before": before,
                              "before_control": score(subset(base_rows, [c["id"] for c in controls]))}
    train_peak = train["peak_rss_bytes"]
    result["memory"] = {"train_peak_rss_bytes": train_peak, "base_only_peak_rss_bytes": base_peak,
                        "ratio": train_peak / base_peak if base_peak else None}
    if train["returncode"] != 0 or "outcome" not in train:
        say(f"K={k}: feedback train FAILED: {train.get('error', '')[-300:]}")
        return result
    say(f"K={k}: trained {train['version']} in {train['seconds']:.0f} s, gate: {train['decision']}; "
        "measuring after …")
    turns = train["outcome"]["plan"]["split"]["turns"]
    by_turn = {a["turn_id"]: a["id"] for a in asked}
    trained_ids = [by_turn[t] for t in turns["train"] if t in by_turn]
    held_ids = [by_turn[t] for t in turns["held_out"] if t in by_turn]
    rejected = {r["id"]: r["greedy"] for r in base_rows}
    measured = with_decoys([*facts[:k], *controls], controls)
    eval_facts = [{**f, "rejected": rejected[f["id"]]} for f in measured]
    after = run_worker("evaluate", {"home": str(home), "facts": eval_facts, "adapter": train["version"],
                                    "folder": train["folder"], "eval_tokens": args.eval_tokens},
                       work, f"after-k{k}")
    rows = after["rows"]
    control_ids = [c["id"] for c in controls]
    result.update(
        after=score(subset(rows, ids)), after_trained=score(subset(rows, trained_ids)),
        after_held_out=score(subset(rows, held_ids)), after_control=score(subset(rows, control_ids)),
        before_trained=score(subset(base_rows, trained_ids)),
        before_held_out=score(subset(base_rows, held_ids)),
        trained_ids=trained_ids, held_out_ids=held_ids, gate=gate_summary(train),
        eval_seconds=after["seconds"], rows=rows)
    return result


def run_broken(k: int, kind: str, facts: list[dict[str, Any]], asked: list[dict[str, Any]],
               args: argparse.Namespace, work: Path, say: Any) -> dict[str, Any]:
    """A deliberately broken candidate at K; the gate must not promote it."""
    if kind not in ("shuffled", "swapped"):
        raise ValueError(f"unknown broken kind {kind!r}")
    home = work / f"home-k{k}-{kind}"
    extra = ["--shuffle-labels" if kind == "shuffled" else "--swap-labels"]
    say(f"K={k}: broken candidate ({kind}); feedback train …")
    train = feedback_train(home, work, f"train-k{k}-{kind}", args.method, extra)
    say(f"K={k} {kind}: gate {train.get('decision')} ({train['seconds']:.0f} s)")
    return {"k": k, "kind": kind, "home": str(home), "train": train, "gate": gate_summary(train),
            "promoted": train.get("promoted"), "refused": train.get("returncode") == 0
            and "outcome" in train and not train.get("promoted")}


def run(args: argparse.Namespace, say: Any) -> dict[str, Any]:
    """Every phase; the result (not yet written)."""
    started = time.perf_counter()
    facts = load_facts(args.facts)
    ks = args.ks_list
    if max(ks) > len(facts):
        raise SystemExit(f"--ks {max(ks)} > {len(facts)} facts in {args.facts}")
    controls = facts[max(ks): max(ks) + CONTROLS]
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-learning-"))
    work.mkdir(parents=True, exist_ok=True)
    say(f"work folder: {work}")
    asked_home = make_home(work / "asked", args.real_model, args.answer_tokens, work)

    base = run_worker("load", {"home": str(asked_home)}, work, "base-only")
    base_peak = base["_process"]["peak_rss_bytes"]
    say(f"base model alone: peak RSS {base_peak / MB:.0f} MB (load {base['load_s']:.1f} s)")

    say(f"asking {max(ks)} questions through the library API …")
    asked = run_worker("ask", {"home": str(asked_home), "facts": facts[: max(ks)]}, work, "ask")["asked"]
    routed = {a["id"]: a["family"] for a in asked}
    say(f"asked in {sum(a['seconds'] for a in asked):.0f} s; routed to {FAMILY}: "
        f"{sum(f == FAMILY for f in routed.values())}/{len(routed)}")

    say(f"before: the base model's greedy answers to {max(ks) + len(controls)} paraphrases …")
    measured = with_decoys([*facts[: max(ks)], *controls], controls)
    base_eval = run_worker("evaluate", {"home": str(asked_home), "facts": measured,
                                        "eval_tokens": args.eval_tokens}, work, "before")
    base_rows = base_eval["rows"]

    runs = {}
    for k in ks:
        runs[str(k)] = run_k(k, facts, asked, base_rows, controls, args, work, base_peak, say)
    broken = [run_broken(k, kind, facts, asked, args, work, say)
              for k in args.broken_ks_list for kind in args.broken]

    passed = passes(runs, broken, base_peak)
    return {
        "benchmark": "learning", "quick": args.quick, "machine": machine_info(), "targets": TARGETS,
        "config": {"model": str(args.real_model), "facts": str(args.facts), "ks": ks, "method": args.method,
                   "answer_tokens": args.answer_tokens, "eval_tokens": args.eval_tokens,
                   "sampling_seed": SEED, "controls": [c["id"] for c in controls],
                   "broken": args.broken, "broken_ks": args.broken_ks_list, "work": str(work),
                   "target_k": max(ks)},
        "base_only": {"peak_rss_bytes": base_peak, "load_s": base["load_s"]},
        "asked": asked, "before": {"all": score(base_rows), "rows": base_rows,
                                   "seconds": base_eval["seconds"]},
        "runs": runs, "broken": broken, "pass": passed, "warnings": warnings(runs),
        "runtime_s": time.perf_counter() - started,
    }


def passes(runs: dict[str, dict[str, Any]], broken: Sequence[dict[str, Any]],
           base_peak: int) -> dict[str, bool]:
    """The targets, over the runs that were not skipped (``"skipped"``: why, e.g. time)."""
    done = {k: r for k, r in runs.items() if not r.get("skipped")}
    tried = [b for b in broken if not b.get("skipped")]
    largest = done[str(max(int(k) for k in done))] if done else {}
    pref = (largest.get("after") or {}).get("preference_accuracy")
    ratios = [r["memory"]["ratio"] for r in done.values()]
    ratios += [b["train"]["peak_rss_bytes"] / base_peak for b in tried if base_peak]
    passed = {
        "preference_accuracy": pref is not None and pref >= TARGETS["preference_accuracy_min"],
        "broken_refused": bool(tried) and all(b["refused"] for b in tried),
        "peak_rss": bool(ratios) and all(r is not None and r < TARGETS["peak_rss_ratio_max"] for r in ratios),
        "trained": bool(done) and all(r["train"]["returncode"] == 0 and "after" in r for r in done.values()),
    }
    passed["all"] = all(passed.values())
    return passed


def warnings(runs: dict[str, dict[str, Any]]) -> list[str]:
    """What the preference accuracy alone hides: a gain the uncorrected facts share, empty answers."""
    said = []
    for k, r in runs.items():
        after, control = r.get("after") or {}, r.get("after_control") or {}
        pref, ctl = after.get("preference_accuracy"), control.get("preference_accuracy")
        if pref is not None and ctl is not None and control.get("n") and ctl >= pref - 0.1:
            said.append(f"K={k}: the {control['n']} facts nobody corrected reach preference accuracy "
                        f"{ctl:.2f} (corrected: {pref:.2f}): the gain is the answers' style or a "
                        "collapse, not the facts")
        fact, fact_ctl = after.get("fact_accuracy"), control.get("fact_accuracy")
        if fact is not None and fact_ctl is not None and fact <= fact_ctl + 0.1:
            said.append(f"K={k}: the corrected facts beat a same-style wrong fact {fact:.2f} of the time, "
                        f"the uncorrected ones {fact_ctl:.2f}: the facts themselves were not learned")
        rows = r.get("rows") or []
        empty = sum(1 for row in rows if not row["greedy"].strip())
        if rows and empty >= len(rows) / 2:
            said.append(f"K={k}: {empty}/{len(rows)} greedy answers of the new version are empty")
        exact, exact_before = after.get("exact_fact_rate"), r["before"]["exact_fact_rate"]
        if exact is not None and exact <= exact_before:
            said.append(f"K={k}: exact-fact rate {exact_before:.2f} → {exact:.2f}: no fact is stated more "
                        "often than before")
    return said


def table(result: dict[str, Any]) -> Any:
    from rich.table import Table

    out = Table(title="Learning loop on Gemma 3 270M: K corrections → feedback train → held-out paraphrases")
    for column in ("K", "pref acc", "after: trained / gate-held-out", "exact fact", "control pref",
                   "fact ≻ decoy: corrected / control", "train s", "RSS train / base MB", "gate"):
        out.add_column(column)
    base = result["base_only"]["peak_rss_bytes"]
    for k, r in result["runs"].items():
        after, train = r.get("after") or {}, r["train"]
        trained, held = r.get("after_trained") or {}, r.get("after_held_out") or {}
        before_ctl, after_ctl = r.get("before_control") or {}, r.get("after_control") or {}
        control = arrow(before_ctl.get("preference_accuracy"), after_ctl.get("preference_accuracy"))
        out.add_row(
            k, arrow(r["before"]["preference_accuracy"], after.get("preference_accuracy")),
            f"{fmt_pct(trained.get('preference_accuracy'))} ({trained.get('n', 0)}) / "
            f"{fmt_pct(held.get('preference_accuracy'))} ({held.get('n', 0)})",
            arrow(r["before"]["exact_fact_rate"], after.get("exact_fact_rate")), control,
            f"{arrow(r['before'].get('fact_accuracy'), after.get('fact_accuracy'))} / "
            f"{arrow(before_ctl.get('fact_accuracy'), after_ctl.get('fact_accuracy'))}",
            f"{train['seconds']:.0f}", _memory(train["peak_rss_bytes"], base), _decision(train))
    for b in result["broken"]:
        train, g = b["train"], b["gate"]
        verdict = "not run" if b.get("skipped") else "refused ✓" if b["refused"] else "NOT refused ✗"
        out.add_row(f"{b['k']} {b['kind']}", "(broken)",
                    f"gate: learned {fmt_pct(g['candidate_train_accuracy'])}, held-out "
                    f"{fmt_pct(g['active_held_out_accuracy'])} → {fmt_pct(g['candidate_held_out_accuracy'])}",
                    "", "", "", f"{train['seconds']:.0f}", _memory(train["peak_rss_bytes"], base),
                    f"{_decision(train)}, {verdict}")
    t = result["targets"]
    out.caption = (f"before = base model, after = the new version (promoted or not); rejected = the base "
                   f"model's own greedy answer; (n) facts; control = {len(result['config']['controls'])} "
                   f"facts nobody corrected. Targets: pref acc ≥ {t['preference_accuracy_min']} at K = "
                   f"{result['config']['target_k']}, broken candidates refused, RSS ratio < "
                   f"{t['peak_rss_ratio_max']:g}. "
                   + ", ".join(f"{k}: {'PASS' if v else 'FAIL'}" for k, v in result["pass"].items()))
    return out


def _memory(train_peak: int, base_peak: int) -> str:
    if not base_peak:
        return f"{train_peak / MB:.0f} / —"
    return f"{train_peak / MB:.0f} / {base_peak / MB:.0f} ({train_peak / base_peak:.2f}×)"


def _decision(train: dict[str, Any]) -> str:
    if train.get("skipped"):
        return f"skipped ({train['skipped']})"
    return str(train.get("decision") or f"failed (rc {train['returncode']})")


def default_real_model() -> Path | None:
    cache = Path(os.environ.get("EVOTR_TEST_MODELS") or Path.home() / ".cache" / "evotr-tests")
    found = sorted((cache / "models").glob("gemma-3-270m*/evotr_model.json"))
    return found[0].parent if found else None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--ks", default="10,25,50", help="numbers of corrections, e.g. 10,25,50")
    parser.add_argument("--quick", action="store_true", help="K = 10 only (a smoke run)")
    parser.add_argument("--real-model", type=Path, default=None, help="the mlx folder of Gemma 3 270M")
    parser.add_argument("--method", default=None, choices=["sft", "dpo", "sft+dpo"],
                        help="feedback train --method (default: the CLI's own)")
    parser.add_argument("--broken", default="shuffled,swapped",
                        help="broken candidates to train: shuffled, swapped, both, or none")
    parser.add_argument("--broken-ks", default="largest", help="largest, all, none or a list of Ks")
    parser.add_argument("--answer-tokens", type=int, default=32,
                        help="cap of the simulated chat answers (sampling.max_tokens of the homes)")
    parser.add_argument("--eval-tokens", type=int, default=32, help="cap of the greedy answers measured")
    parser.add_argument("--facts", type=Path, default=FACTS)
    parser.add_argument("--work", type=Path, default=None, help="keep the homes and logs here")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--worker", nargs=3, metavar=("NAME", "SPEC", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return args
    args.broken = [] if args.broken == "none" else [b for b in args.broken.split(",") if b]
    unknown = set(args.broken) - {"shuffled", "swapped"}
    if unknown:
        parser.error(f"--broken: unknown kind(s) {sorted(unknown)}; use shuffled, swapped or none")
    try:
        args.ks_list = [10] if args.quick else parse_ks(args.ks)
        args.broken_ks_list = broken_ks(args.broken_ks, args.ks_list) if args.broken else []
    except (argparse.ArgumentTypeError, ValueError) as exc:
        parser.error(str(exc))
    return args


def main(argv: list[str] | None = None) -> int:
    """Run, write the JSON, print the table; exit 1 if a target is missed."""
    args = parse_args(argv)
    if args.worker:
        name, spec, out = args.worker
        write_json(WORKERS[name](json.loads(Path(spec).read_text("utf-8"))), Path(out))
        return 0
    # Before anything imports mlx (machine_info does): the BLAS the workers will choose too.
    from evotr.infrastructure.mlx.blas import prepare_blas

    prepare_blas()
    args.real_model = args.real_model or default_real_model()
    if args.real_model is None or not (Path(args.real_model) / "config.json").is_file():
        print("no Gemma 3 270M folder: run `evotr model pull gemma-3-270m` (or the real-model tests, "
              "which cache it in ~/.cache/evotr-tests) and pass --real-model DIR", file=sys.stderr)
        return 2
    out = console()

    def say(text: str) -> None:
        out.print(f"[{time.strftime('%H:%M:%S')}] {text}", highlight=False, markup=False)

    result = run(args, say)
    code = finish(out, result, table(result), args.out)
    for line in result["warnings"]:
        out.print(f"warning: {line}", highlight=False, markup=False)
    return code


if __name__ == "__main__":
    sys.exit(main())
