"""Turkish casing and diacritic folding."""

from __future__ import annotations

import pytest

from evotr.domain.text import fold, turkish_lower, words

pytestmark = pytest.mark.unit


def test_turkish_casing_of_dotted_and_dotless_i() -> None:
    assert turkish_lower("İSTANBUL") == "istanbul"
    assert turkish_lower("ILIK") == "ılık"


@pytest.mark.parametrize("variant", ["nasılsın", "nasilsin", "NASILSIN", "Nasılsın", "NASİLSİN"])
def test_spellings_fold_alike(variant: str) -> None:
    assert fold(variant) == "nasilsin"


def test_words_split_on_punctuation_and_fold() -> None:
    assert words("Osmanlı tarihi, anlat!") == ["osmanli", "tarihi", ",", "anlat", "!"]
