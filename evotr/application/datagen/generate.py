"""Use case: bring a category up to N valid, distinct samples, resumably, with concurrent requests.

``count`` is the total wanted in the category, so re-running the same command after a crash,
a Ctrl-C or an exhausted quota generates only what is still missing. Each accepted sample is
written (and fsynced) before the next is accepted; a reservation counter keeps the number of
accepted plus in-flight requests at or below what is missing, so concurrency never overshoots.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import attrs

from evotr.application.datagen.config import CategorySpec, GenerationConfig
from evotr.application.datagen.parse import RejectReason, SampleRejectedError, parse_answer, user_hash
from evotr.application.datagen.records import distinct_samples, sample_record
from evotr.application.errors import GenerationQuotaExhaustedError, GenerationRejectedError
from evotr.domain.generation import GenerationRequest
from evotr.ports.generator_api import GeneratorAPI
from evotr.ports.sample_store import RunWriter, SampleStore


@attrs.frozen(slots=True)
class GenerationProgress:
    """A snapshot after each answer: samples in the category vs wanted, rejects so far."""

    category: str
    wanted: int
    total_valid: int
    written: int
    rejected: int


ProgressCallback = Callable[[GenerationProgress], None]


@attrs.frozen(slots=True)
class GenerationRunReport:
    """What one `data generate` run did and why it stopped."""

    category: str
    run_id: str
    model: str
    wanted: int
    existing: int
    written: int
    attempts: int
    rejects: Mapping[str, int]
    discarded: int
    truncated_lines: int
    duplicates_in_store: int
    stopped_by_quota: bool = False
    resume_at: datetime | None = None
    stop_message: str = ""
    gave_up: bool = False
    location: str | None = None
    elapsed_s: float = 0.0

    @property
    def total_valid(self) -> int:
        """Distinct valid samples the category holds now."""
        return self.existing + self.written

    @property
    def complete(self) -> bool:
        """The category holds at least the wanted number of samples."""
        return self.total_valid >= self.wanted

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready view (times as ISO 8601)."""
        data = attrs.asdict(self)
        data["rejects"] = dict(self.rejects)
        data["resume_at"] = None if self.resume_at is None else self.resume_at.isoformat()
        data.update(total_valid=self.total_valid, complete=self.complete)
        return data


def new_run_id(now: datetime) -> str:
    """Sortable by time, unique across processes: ``20250101T120000Z-1a2b3c``."""
    return f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def plan_prompt(spec: CategorySpec, number: int, run_id: str) -> tuple[str, str]:
    """Topic and prompt for the ``number``-th attempt of the category.

    Topics go round-robin in an order shuffled once per category, styles advance once per
    full round, and a per-run random seed varies the wording, so retries differ.
    """
    order = list(range(len(spec.topics)))
    random.Random(spec.name).shuffle(order)
    topic = spec.topics[order[number % len(order)]]
    style = spec.styles[(number + number // len(order)) % len(spec.styles)]
    seed = random.Random(f"{run_id}:{number}").randrange(1, 1_000_000)
    return topic, spec.prompt(topic, seed, style)


class GenerateData:
    """Fills ``data/generated/<category>/`` up to a total count through a GeneratorAPI."""

    def __init__(
        self, generator: GeneratorAPI, store: SampleStore, config: GenerationConfig, *,
        clock: Callable[[], datetime] | None = None, attempts_per_sample: int = 4,
    ) -> None:
        self._generator = generator
        self._store = store
        self._config = config
        self._clock = clock or (lambda: datetime.now(UTC))
        # Bounds a run whose answers keep failing (a broken template, a looping model).
        self._attempts_per_sample = attempts_per_sample

    def execute(
        self, category: str, count: int, *, concurrency: int | None = None,
        progress: ProgressCallback | None = None, run_id: str | None = None,
    ) -> GenerationRunReport:
        """Generate until the category holds ``count`` distinct samples (from a sync caller)."""
        return asyncio.run(self.run(category, count, concurrency=concurrency, progress=progress,
                                    run_id=run_id))

    async def run(
        self, category: str, count: int, *, concurrency: int | None = None,
        progress: ProgressCallback | None = None, run_id: str | None = None,
    ) -> GenerationRunReport:
        """As :meth:`execute`, inside a running event loop."""
        if count < 1:
            raise ValueError("count must be at least 1")
        spec = self._config.category(category)
        run_id = run_id or new_run_id(self._clock())
        writer = self._store.open_run(category, run_id)
        try:
            existing = distinct_samples(self._store.scan(category))
            job = _Job(self, spec, run_id, writer, count, existing.keys, progress)
            await job.run(concurrency or self._config.generator.concurrency)
        finally:
            writer.close()
        return GenerationRunReport(
            category=category, run_id=run_id, model=self._config.generator.model, wanted=count,
            existing=len(existing.samples), written=job.accepted, attempts=job.attempts,
            rejects=dict(job.rejects), discarded=job.discarded,
            truncated_lines=writer.repaired + existing.truncated,
            duplicates_in_store=existing.duplicates, stopped_by_quota=job.quota is not None,
            resume_at=None if job.quota is None else job.quota.resume_at,
            stop_message="" if job.quota is None else str(job.quota), gave_up=job.gave_up,
            location=writer.location if job.accepted else None, elapsed_s=job.elapsed_s,
        )


class _Job:
    """One run's shared state; every worker reserves, requests, checks and writes through it."""

    def __init__(self, owner: GenerateData, spec: CategorySpec, run_id: str, writer: RunWriter,
                 wanted: int, keys: set[str], progress: ProgressCallback | None) -> None:
        self.owner, self.spec, self.run_id, self.writer = owner, spec, run_id, writer
        self.wanted, self.keys, self.progress = wanted, keys, progress
        self.existing = len(keys)
        self.needed = max(0, wanted - self.existing)
        self.max_attempts = self.needed * owner._attempts_per_sample + 10
        self.accepted = self.in_flight = self.attempts = self.discarded = 0
        self.rejects: Counter[str] = Counter()
        self.quota: GenerationQuotaExhaustedError | None = None
        self.failure: BaseException | None = None
        self.gave_up = False
        self.elapsed_s = 0.0
        self.lock = asyncio.Lock()

    async def run(self, concurrency: int) -> None:
        started = time.monotonic()
        self._report()  # the starting point: samples already in the category
        if self.needed:
            await asyncio.gather(*(self._worker() for _ in range(max(1, concurrency))))
        self.elapsed_s = time.monotonic() - started
        if self.failure is not None:
            raise self.failure

    def _stopped(self) -> bool:
        return self.quota is not None or self.failure is not None or self.gave_up

    async def _reserve(self) -> int | None:
        """An attempt number, or None once enough samples are written or in flight."""
        async with self.lock:
            if self._stopped() or self.accepted + self.in_flight >= self.needed:
                return None
            if self.attempts >= self.max_attempts:
                self.gave_up = True
                return None
            self.in_flight += 1
            self.attempts += 1
            return self.existing + self.attempts - 1

    async def _worker(self) -> None:
        while (number := await self._reserve()) is not None:
            try:
                await self._attempt(number)
            except GenerationRejectedError:
                await self._reject(RejectReason.REJECTED_BY_API)
            except SampleRejectedError as rejected:
                await self._reject(rejected.reason)
            except GenerationQuotaExhaustedError as exhausted:
                self.quota = self.quota or exhausted
            except Exception as exc:  # an unexpected failure stops the run; written samples stay
                self.failure = self.failure or exc
            finally:
                # Released only now: until then the slot counts against what is missing.
                self.in_flight -= 1

    async def _attempt(self, number: int) -> None:
        topic, prompt = plan_prompt(self.spec, number, self.run_id)
        settings = self.owner._config.generator
        request = GenerationRequest(prompt, settings.model, settings.temperature, settings.max_output_tokens)
        result = await self.owner._generator.generate(request)
        sample = parse_answer(result.text, self.spec.validation)  # raises SampleRejectedError
        key = user_hash(sample.user)
        # The check, the write and the counters change together: no duplicate, no overshoot.
        async with self.lock:
            if key in self.keys:
                self.rejects[RejectReason.DUPLICATE.value] += 1
            elif self.accepted >= self.needed:
                self.discarded += 1  # unreachable while reservations hold; kept as a guard
            else:
                sample_id = f"{self.run_id}-{self.accepted + 1:05d}"
                self.writer.append(sample_record(
                    sample_id, self.spec.name, topic, sample, result.model or settings.model,
                    self.owner._clock(), result.usage,
                ))
                self.keys.add(key)
                self.accepted += 1
            self._report()

    async def _reject(self, reason: RejectReason) -> None:
        async with self.lock:
            self.rejects[reason.value] += 1
            self._report()

    def _report(self) -> None:
        if self.progress is not None:
            self.progress(GenerationProgress(self.spec.name, self.wanted, self.existing + self.accepted,
                                             self.accepted, sum(self.rejects.values())))
