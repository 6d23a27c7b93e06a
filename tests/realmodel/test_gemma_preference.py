"""DPO on the real model: a few steps make Gemma 3 270M prefer the user's corrections, one model in memory.

The run (6 iterations, batch 2, 4 layers, rank 8, lr 1e-4, β 0.1 on 10 Turkish facts) happens in
a child process, so its peak RSS (``ru_maxrss``) is its own; another child only loads the base
model (as ``mlx_lm.load`` + evotr's CPU precision rule) for the yardstick. Preference accuracy
is measured as the promotion gate measures it, on evotr's backend, before (base) and after.
About a minute on a 2-core CPU with OpenBLAS.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from evotr.domain.adapters import AdapterVersion
from evotr.domain.evaluation import PreferencePair
from evotr.infrastructure.mlx.llm_backend import MlxLLMBackend

pytestmark = [pytest.mark.realmodel, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
V2 = AdapterVersion.parse("facts_v2")
# (question, the user's correction, the kind of answer the model gave): invented personal facts.
FACTS = [("Köpeğimin adı ne?", "Köpeğinin adı Pamuk.", "Köpeğinin adı Karabaş."),
         ("Kedimin adı ne?", "Kedinin adı Tarçın.", "Kedinin adı Minnoş."),
         ("En sevdiğim renk hangisi?", "En sevdiğin renk lacivert.", "En sevdiğin renk kırmızı."),
         ("Hangi şehirde doğdum?", "Trabzon'da doğdun.", "İstanbul'da doğdun."),
         ("Kız kardeşimin adı ne?", "Kız kardeşinin adı Elif.", "Kız kardeşinin adı Ayşe."),
         ("En sevdiğim yemek ne?", "En sevdiğin yemek mantı.", "En sevdiğin yemek pizza."),
         ("Hangi takımı tutuyorum?", "Trabzonspor'u tutuyorsun.", "Galatasaray'ı tutuyorsun."),
         ("Arabamın markası ne?", "Araban bir Renault.", "Araban bir Toyota."),
         ("Doğum günüm ne zaman?", "Doğum günün 14 Mart.", "Doğum günün 1 Ocak."),
         ("Hangi dili öğreniyorum?", "Japonca öğreniyorsun.", "İngilizce öğreniyorsun.")]
PAIRS = [PreferencePair(q, good, bad, where=f"fact {n}") for n, (q, good, bad) in enumerate(FACTS)]

_PRELUDE = """
import json, resource, sys
from evotr.infrastructure.mlx.blas import prepare_blas
prepare_blas()  # as the CLI and the tests: OpenBLAS before mlx is imported
def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""
BASE_ONLY = _PRELUDE + """
import mlx.core as mx, mlx_lm
from evotr.infrastructure.mlx.precision import float32_on_cpu
model = mlx_lm.load(sys.argv[1])[0]
float32_on_cpu(model)
mx.eval(model.parameters())
print(json.dumps({"peak_mb": peak_mb()}))
"""
TRAIN = _PRELUDE + """
from pathlib import Path
from evotr.domain.adapters import AdapterVersion
from evotr.domain.evaluation import PreferencePair
from evotr.domain.learning import PreferenceJob
from evotr.infrastructure.mlx.preference_trainer import MlxPreferenceTrainer
base, out, facts = sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3])
pairs = [PreferencePair(q, good, bad) for q, good, bad in facts]
job = PreferenceJob(AdapterVersion.parse("facts_v2"), base, pairs, iterations=6, batch_size=2,
                    learning_rate=1e-4, rank=8, num_layers=4, beta=0.1)
metrics = MlxPreferenceTrainer(seed=0).train(job, out)
print(json.dumps({"peak_mb": peak_mb(), "duration_s": metrics.duration_s,
                  "mlx_peak_mb": metrics.peak_memory_mb,
                  "steps": [s.as_dict() for s in metrics.steps]}))
"""


def _start(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", script, *args], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _result(child: subprocess.Popen[str]) -> dict[str, object]:
    out, err = child.communicate(timeout=300)
    assert child.returncode == 0, err[-2000:]
    found: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return found


def _accuracy(llm: MlxLLMBackend, adapter: AdapterVersion | None) -> tuple[float, float]:
    margins = []
    for pair in PAIRS:
        chosen, rejected = llm.logprobs(pair.messages(), [pair.chosen, pair.rejected], adapter)
        margins.append(chosen - rejected)
    return sum(m > 0 for m in margins) / len(margins), sum(margins) / len(margins)


def test_dpo_teaches_the_corrections_with_one_base_model_in_memory(gemma_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "facts_v2"
    # Both children run while this process loads its own backend for the measurements.
    base_only = _start(BASE_ONLY, str(gemma_dir))
    training = _start(TRAIN, str(gemma_dir), str(out), json.dumps(FACTS, ensure_ascii=False))
    llm = MlxLLMBackend(str(gemma_dir))
    before, before_margin = _accuracy(llm, None)
    base, trained = _result(base_only), _result(training)

    llm.register_adapter(V2, out)
    after, after_margin = _accuracy(llm, V2)
    assert before <= 0.5, "the base model does not know these invented facts"
    assert after >= 0.9 and after_margin > before_margin
    steps = trained["steps"]
    assert isinstance(steps, list) and len(steps) == 6 and steps[0]["loss"] == pytest.approx(0.6931, abs=1e-3)
    # One copy of the base model: the whole run's peak stays near a plain load's.
    assert float(trained["peak_mb"]) < 1.5 * float(base["peak_mb"]), (trained, base)  # type: ignore[arg-type]
    print(f"\nDPO on Gemma 3 270M: accuracy {before:.2f} -> {after:.2f}, margin {before_margin:.2f} -> "
          f"{after_margin:.2f} nats, {trained['duration_s']:.1f} s for 6 steps; peak RSS "
          f"{trained['peak_mb']:.0f} MB vs {base['peak_mb']:.0f} MB for the base model alone")
