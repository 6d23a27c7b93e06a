"""Use case: compare two adapter versions with the base model on the same data and prompts.

All three models are ONE resident base model: both versions are registered with the LLM
backend (read into memory once) and switched in per measurement, never loaded as models.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from evotr.application.adapters.details import stored_version
from evotr.application.learning.comparison import DEFAULT_PROMPTS, Comparison, ModelScores
from evotr.application.learning.preference import PreferenceAccuracy
from evotr.domain.adapters import AdapterVersion
from evotr.domain.conversation import Message, Role
from evotr.domain.errors import EvoTrError, RegistryRuleError
from evotr.domain.evaluation import LossResult, PreferencePair, PreferenceResult
from evotr.domain.sampling import SamplingParams
from evotr.ports.adapter_store import AdapterStore
from evotr.ports.evaluation_data import EvaluationData
from evotr.ports.llm_backend import LLMBackend

# Short answers are enough to see whether an adapter changes greedy choices, and keep the
# three-model run quick on a CPU.
DEFAULT_MAX_TOKENS = 32
_MLX_DEFAULT_SEQ = 2048


class CompareAdapters:
    """Val loss and perplexity, identical-output shares and preference accuracy of base, A and B."""

    def __init__(self, store: AdapterStore, llm: LLMBackend, data: EvaluationData, data_dir: Path) -> None:
        self._store = store
        self._llm = llm
        self._data = data
        self._data_dir = data_dir

    def execute(
        self,
        a: AdapterVersion | str,
        b: AdapterVersion | str,
        *,
        data: Path | None = None,
        prompts: Path | None = None,
        pairs: Path | None = None,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        mask_prompt: bool | None = None,
    ) -> Comparison:
        """Measure; every input is read and checked before the model loads.

        ``data`` defaults to the dataset a manifest names (if that folder has valid.jsonl; else
        no loss is measured and a note says so). ``mask_prompt`` defaults to A's training config.
        """
        first, second = stored_version(self._store, a), stored_version(self._store, b)
        if first == second:
            raise RegistryRuleError(f"compare needs two different versions, got {first} twice")
        for version in (first, second):
            problems = self._store.problems(version)
            if problems:
                raise RegistryRuleError(f"cannot compare {version}: {'; '.join(problems)} "
                                        f"({self._store.path(version)})")
        configs = [self._config(first), self._config(second)]
        datasets = [self._dataset_name(first), self._dataset_name(second)]
        notes: list[str] = []
        folder = data if data is not None else self._default_data(datasets, notes)
        conversations = self._data.conversations(folder) if folder is not None else None
        texts = tuple(self._data.prompts(prompts)) if prompts is not None else DEFAULT_PROMPTS
        pair_list = self._data.pairs(pairs) if pairs is not None else None
        masked = mask_prompt if mask_prompt is not None else bool(configs[0].get("mask_prompt", False))
        seq = configs[0].get("max_seq_length")
        max_seq = seq if isinstance(seq, int) and not isinstance(seq, bool) and seq > 0 else _MLX_DEFAULT_SEQ

        for version in (first, second):
            self._llm.register_adapter(version, self._store.path(version))
        params = SamplingParams(temperature=0.0, max_tokens=max_tokens)
        scores = []
        for adapter, config, dataset in ((None, {}, ""), (first, configs[0], datasets[0]),
                                         (second, configs[1], datasets[1])):
            loss = (self._loss(conversations, adapter, masked, max_seq)
                    if conversations is not None else None)
            outputs = tuple(self._llm.generate([Message(Role.USER, text)], params, adapter) for text in texts)
            preference = self._preference(pair_list, adapter)
            scores.append(ModelScores(adapter, outputs, loss, preference, config, dataset))
        return Comparison(scores[0], scores[1], scores[2], texts,
                          None if folder is None else str(folder), masked,
                          None if pairs is None else str(pairs), tuple(notes))

    def _loss(self, conversations: Sequence[Sequence[Message]], adapter: AdapterVersion | None,
              masked: bool, max_seq: int) -> LossResult:
        return self._llm.loss(conversations, adapter, mask_prompt=masked, max_seq_length=max_seq)

    def _preference(self, pairs: Sequence[PreferencePair] | None,
                    adapter: AdapterVersion | None) -> PreferenceResult | None:
        return None if pairs is None else PreferenceAccuracy(self._llm).execute(pairs, adapter)

    def _config(self, version: AdapterVersion) -> Mapping[str, object]:
        try:
            return self._store.training_config(version) or {}
        except EvoTrError:
            return {}  # already refused by problems(); kept defensive for a file changed meanwhile

    def _dataset_name(self, version: AdapterVersion) -> str:
        manifest = self._store.manifest(version)
        return manifest.dataset if manifest is not None else ""

    def _default_data(self, datasets: Sequence[str], notes: list[str]) -> Path | None:
        """The first dataset a manifest names that is a folder with valid.jsonl (as given, or under data/)."""
        for name in dict.fromkeys(d for d in datasets if d):
            for folder in (Path(name), self._data_dir / name):
                if self._data.is_dataset(folder):
                    return folder
        named = ", ".join(repr(d) for d in dict.fromkeys(datasets) if d) or "none"
        notes.append(f"no validation data: the manifests name no dataset folder with valid.jsonl "
                     f"(named: {named}), so no loss was measured; give --data DIR")
        return None
