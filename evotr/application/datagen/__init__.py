"""Training data from a generator: the public names of the datagen_* modules in one place.

* ``datagen_config``  – GenerationConfig / CategorySpec (what generation.yaml holds)
* ``datagen_parse``   – parse_answer, reject reasons, the user-turn de-duplication hash
* ``datagen_records`` – the stored sample line and reading runs back
* ``datagen_generate`` – GenerateData: resumable, concurrent, never over count, never duplicate
* ``datagen_prepare`` – PrepareData (mlx-lm train/valid split) and DataStats
"""

from __future__ import annotations

from evotr.application.datagen.config import (
    DEFAULT_SHAPE,
    GENERATOR_BACKENDS,
    CategorySpec,
    GenerationConfig,
    GeneratorSettings,
    UnknownCategoryError,
    ValidationRules,
)
from evotr.application.datagen.generate import (
    GenerateData,
    GenerationProgress,
    GenerationRunReport,
    plan_prompt,
)
from evotr.application.datagen.parse import (
    ParsedSample,
    RejectReason,
    SampleRejectedError,
    normalise_user,
    parse_answer,
    user_hash,
)
from evotr.application.datagen.prepare import (
    CategoryStats,
    DatasetError,
    DataStats,
    PrepareData,
    PrepareReport,
    split_ids,
    split_score,
)
from evotr.application.datagen.records import SampleFileError, distinct_samples, sample_record

__all__ = [
    "DEFAULT_SHAPE",
    "GENERATOR_BACKENDS",
    "CategorySpec",
    "CategoryStats",
    "DataStats",
    "DatasetError",
    "GenerateData",
    "GenerationConfig",
    "GenerationProgress",
    "GenerationRunReport",
    "GeneratorSettings",
    "ParsedSample",
    "PrepareData",
    "PrepareReport",
    "RejectReason",
    "SampleFileError",
    "SampleRejectedError",
    "UnknownCategoryError",
    "ValidationRules",
    "distinct_samples",
    "normalise_user",
    "parse_answer",
    "plan_prompt",
    "sample_record",
    "split_ids",
    "split_score",
    "user_hash",
]
