"""The learning-loop benchmark's harness without the real training (seconds, tiny model and fakes).

Fact matching, scoring, argument handling, the measured
subprocess, a home pointed at a model, the workers on the tiny model, and the table/JSON shape.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.bench_loading import load_benchmark

pytestmark = [pytest.mark.integration, pytest.mark.slow]

@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_benchmark('bench_learning')


def test_fact_matching_is_turkish_aware(bench: ModuleType) -> None:
    assert bench.has_fact("İZMİR'e taşınmak istiyorsun", "İzmir")
    assert bench.has_fact("izmir'e", "İzmir")
    assert bench.has_fact("ISPARTA", "ısparta")  # dotless I lower-cases to ı
    assert not bench.has_fact("ISPARTA", "isparta")
    assert bench.has_fact("Trabzon'da doğdun.", "Trabzon")
    assert not bench.has_fact("Tarcin", "Tarçın")  # diacritics are part of the fact
    assert bench.has_fact("Kızının adı ADA.", "Ada")


def test_the_facts_file(bench: ModuleType, tmp_path: Path) -> None:
    facts = bench.load_facts()
    assert len(facts) == 60
    assert sorted(f["id"] for f in facts) == list(range(60))
    for fact in facts:
        assert bench.has_fact(fact["answer"], fact["key"]), fact
        assert fact["paraphrase"] != fact["question"]
    bad = tmp_path / "facts.jsonl"
    bad.write_text('{"id": 0, "question": "q", "answer": "a", "key": "a", "paraphrase": "p"}\n{"id": 1}\n')
    with pytest.raises(ValueError, match=r"facts.jsonl:2: missing answer, key, paraphrase, question"):
        bench.load_facts(bad)


def test_scores_count_strict_wins_and_exact_facts(bench: ModuleType) -> None:
    rows = [{"id": 0, "chosen_logprob": -1.0, "rejected_logprob": -2.0, "exact": True},
            {"id": 1, "chosen_logprob": -3.0, "rejected_logprob": -3.0, "exact": False},  # a tie loses
            {"id": 2, "chosen_logprob": -5.0, "rejected_logprob": -1.0, "exact": False},
            {"id": 3, "chosen_logprob": -0.5, "rejected_logprob": -9.0, "exact": True}]
    got = bench.score(rows)
    assert (got["n"], got["wins"], got["exact"]) == (4, 2, 2)
    assert got["preference_accuracy"] == 0.5 and got["exact_fact_rate"] == 0.5
    assert got["mean_margin"] == pytest.approx((1.0 + 0.0 - 4.0 + 8.5) / 4)
    assert bench.score(bench.subset(rows, {0, 3}))["preference_accuracy"] == 1.0
    assert bench.score([]) == {"n": 0, "preference_accuracy": None, "exact_fact_rate": None,
                               "mean_margin": None, "fact_accuracy": None}
    assert got["fact_accuracy"] is None  # no decoy scored
    decoyed = [{**rows[0], "decoy_logprob": -1.5}, {**rows[1], "decoy_logprob": -2.0}]
    assert bench.score(decoyed)["fact_accuracy"] == 0.5  # -1 > -1.5 wins, -3 < -2 loses


def test_decoys_swap_the_fact_word_for_an_untaught_control_key(bench: ModuleType) -> None:
    facts = bench.load_facts()
    controls = facts[50:60]
    decoyed = bench.with_decoys([*facts[:3], *controls], controls)
    control_keys = {c["key"] for c in controls}
    for fact in decoyed:
        assert fact["decoy"] != fact["answer"]
        [swapped] = [k for k in control_keys if k in fact["decoy"] and k != fact["key"]]
        assert fact["decoy"] == fact["answer"].replace(fact["key"], swapped)


def test_arguments(bench: ModuleType) -> None:
    args = bench.parse_args([])
    assert args.ks_list == [10, 25, 50] and args.broken == ["shuffled", "swapped"]
    assert args.broken_ks_list == [50]
    assert bench.parse_args(["--quick"]).ks_list == [10]
    args = bench.parse_args(["--ks", "50,10,25,10", "--broken", "shuffled", "--broken-ks", "all"])
    assert args.ks_list == [10, 25, 50] and args.broken == ["shuffled"]
    assert args.broken_ks_list == [10, 25, 50]
    args = bench.parse_args(["--broken", "none"])
    assert args.broken == [] and args.broken_ks_list == []
    assert bench.parse_args(["--broken-ks", "10,50"]).broken_ks_list == [10, 50]
    with pytest.raises(SystemExit):
        bench.parse_args(["--broken", "reversed"])
    with pytest.raises(SystemExit):
        bench.parse_args(["--broken-ks", "30"])


def test_a_measured_child_reports_its_own_peak(bench: ModuleType, tmp_path: Path) -> None:
    code = "x = bytearray(300_000_000); x[::4096] = b'1' * len(x[::4096]); print('done')"
    done = bench.wait_measured([sys.executable, "-c", code], bench._env(), tmp_path / "logs" / "child")
    assert done["returncode"] == 0 and done["stdout"].strip() == "done"
    assert done["peak_rss_bytes"] > 300_000_000
    failed = bench.wait_measured([sys.executable, "-c", "import sys; sys.exit(3)"], bench._env(),
                                 tmp_path / "logs" / "failed")
    assert failed["returncode"] == 3


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from evotr.infrastructure.mlx.tiny_model import ensure_tiny_model

    return ensure_tiny_model(tmp_path_factory.mktemp("bench_learning") / "tiny")


def test_workers_on_the_tiny_model(bench: ModuleType, tiny: Path, tmp_path: Path) -> None:
    """A home made as the benchmark makes it; ask, correct and evaluate in this process."""
    from evotr.container import build_container

    home = bench.make_home(tmp_path / "asked", tiny, 6, tmp_path)
    settings = build_container(None, home, env={}).settings()
    assert settings.model.path == str(tiny.resolve())
    assert (settings.sampling.max_tokens, settings.sampling.seed) == (6, 0)

    facts = bench.with_decoys(bench.load_facts()[:3], bench.load_facts()[50:60])
    asked = bench.worker_ask({"home": str(home), "facts": facts})["asked"]
    assert [a["id"] for a in asked] == [0, 1, 2] and len({a["turn_id"] for a in asked}) == 3
    assert all(a["family"] in ("tr_chat", "python_coder") for a in asked)

    copy = bench.copy_home(home, tmp_path / "home-k3")
    asked[1]["family"] = "python_coder"  # as if misrouted: corrected with intent general_chat
    corrections = [{"turn_id": a["turn_id"], "family": a["family"], "text": f["answer"]}
                   for a, f in zip(asked, facts, strict=True)]
    done = bench.worker_correct({"home": str(copy), "corrections": corrections})
    assert (done["corrections"], done["misroute_corrections"]) == (3, 1)
    judged = build_container(None, copy, env={}).storage.feedback_repository().judged_turns()
    assert sorted(e.correction for e in judged) == sorted(f["answer"] for f in facts)
    assert not build_container(None, home, env={}).storage.feedback_repository().judged_turns()

    before = bench.worker_evaluate({"home": str(home), "facts": facts, "eval_tokens": 4})
    rows = before["rows"]
    assert [r["id"] for r in rows] == [0, 1, 2]
    for row in rows:
        assert row["rejected"] == row["greedy"]  # before: the model's own greedy answer
        assert row["chosen_logprob"] < 0 and row["rejected_logprob"] < 0 and row["decoy_logprob"] < 0
    rejected = [{**f, "rejected": "Bilmiyorum."} for f in facts]
    after = bench.worker_evaluate({"home": str(home), "facts": rejected, "eval_tokens": 4})
    assert all(r["rejected"] == "Bilmiyorum." for r in after["rows"])


def _fake_result(bench: ModuleType) -> dict[str, Any]:
    mb = 1_000_000

    def scored(acc: float, exact: float, n: int) -> dict[str, Any]:
        return {"n": n, "wins": round(acc * n), "preference_accuracy": acc, "exact": round(exact * n),
                "exact_fact_rate": exact, "mean_margin": 1.0}

    train = {"returncode": 0, "seconds": 321.0, "peak_rss_bytes": 2500 * mb, "decision": "promoted",
             "promoted": True, "version": "tr_chat_v1", "folder": "/x"}
    run = {"k": 50, "train": train, "before": scored(0.4, 0.0, 50), "after": scored(0.94, 0.5, 50),
           "after_trained": scored(1.0, 0.6, 40), "after_held_out": scored(0.7, 0.1, 10),
           "before_control": scored(0.4, 0.0, 10), "after_control": scored(0.6, 0.0, 10),
           "memory": {"train_peak_rss_bytes": 2500 * mb, "base_only_peak_rss_bytes": 1900 * mb,
                      "ratio": 2500 / 1900}}
    broken_train = {**train, "decision": "kept", "promoted": False, "version": "tr_chat_v1"}
    gate = {"candidate_train_accuracy": 0.1, "candidate_held_out_accuracy": 0.2,
            "active_held_out_accuracy": 0.5, "active_train_accuracy": 0.4}
    return {"benchmark": "learning", "targets": bench.TARGETS, "base_only": {"peak_rss_bytes": 1900 * mb},
            "config": {"target_k": 50, "controls": list(range(50, 60))}, "runs": {"50": run},
            "broken": [{"k": 50, "kind": "swapped", "train": broken_train, "gate": gate, "refused": True}],
            "pass": {"preference_accuracy": True, "broken_refused": True, "peak_rss": True, "trained": True,
                     "all": True}}


def test_table_and_json(bench: ModuleType, tmp_path: Path) -> None:
    from rich.console import Console

    result = _fake_result(bench)
    screen = Console(width=160, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    out = tmp_path / "results" / "learning.json"
    assert bench.finish(screen, result, bench.table(result), out) == 0
    text = screen.export_text()
    for expected in ("0.40 → 0.94", "1.00 (40) / 0.70 (10)", "0.00 → 0.50", "0.40 → 0.60", "321",
                     "2500 / 1900 (1.32×)", "promoted", "50 swapped", "kept, refused ✓", "all: PASS"):
        assert expected in text, expected
    assert json.loads(out.read_text("utf-8")) == json.loads(json.dumps(result))
    assert not list(out.parent.glob(".*.tmp"))
    result["pass"]["all"] = False
    assert bench.finish(screen, result, bench.table(result), out) == 1


def test_targets_skip_runs_left_out_and_warnings_say_what_accuracy_hides(bench: ModuleType) -> None:
    result = _fake_result(bench)
    runs, broken = result["runs"], result["broken"]
    assert bench.passes(runs, broken, 1900 * 1_000_000)["all"] is True
    runs["25"] = {**runs["50"], "train": {"returncode": -15, "seconds": 9.0, "peak_rss_bytes": 0,
                                          "skipped": "time"}, "skipped": "time"}
    broken.append({**broken[0], "kind": "shuffled", "refused": False, "skipped": "time"})
    assert bench.passes(runs, broken, 1900 * 1_000_000)["all"] is True  # skipped runs do not count
    broken[-1].pop("skipped")
    assert bench.passes(runs, broken, 1900 * 1_000_000)["broken_refused"] is False
    assert bench.warnings({"50": runs["50"]}) == []
    collapsed = {**runs["50"], "after": {**runs["50"]["after"], "exact_fact_rate": 0.0},
                 "after_control": {**runs["50"]["after_control"], "preference_accuracy": 1.0},
                 "rows": [{"greedy": ""}, {"greedy": " "}, {"greedy": "En."}]}
    said = bench.warnings({"50": collapsed})
    assert len(said) == 3
    assert "facts nobody corrected reach preference accuracy 1.00 (corrected: 0.94)" in said[0]
    assert said[1] == "K=50: 2/3 greedy answers of the new version are empty"
    assert "exact-fact rate 0.00 → 0.00" in said[2]
