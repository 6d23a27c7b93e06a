"""Turkish-aware text normalisation shared by routing and de-duplication."""

from __future__ import annotations

import re
import unicodedata

# Turkish casing: İ→i and I→ı (str.lower() would give "i̇" and "i").
_TURKISH_LOWER = str.maketrans({"İ": "i", "I": "ı"})
# Folding diacritics lets "nasilsin" and "nasılsın" match.
_FOLD = str.maketrans({"ı": "i", "ç": "c", "ğ": "g", "ö": "o", "ş": "s", "ü": "u", "â": "a",
                       "î": "i", "û": "u"})
_WORD_RE = re.compile(r"[a-z0-9_]+|[^\sa-z0-9_]")


def turkish_lower(text: str) -> str:
    """Lower-case with Turkish rules for dotted and dotless i."""
    return text.translate(_TURKISH_LOWER).lower()


def fold(text: str) -> str:
    """Turkish lower-case, then strip diacritics; the key two spellings share."""
    lowered = turkish_lower(unicodedata.normalize("NFC", text)).translate(_FOLD)
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """Folded word tokens (punctuation and symbols kept as single-character tokens)."""
    return _WORD_RE.findall(fold(text))


def encoding_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored as UTF-8, or None when it can.

    Python smuggles undecodable command-line bytes in as lone surrogates (U+DC80–U+DCFF,
    "surrogateescape"); the library API can receive any lone surrogate. SQLite, JSON and
    the tokenizer all need real Unicode, so such text is refused up front with its position.
    """
    for index, char in enumerate(text):
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:
            return (f"is not valid UTF-8 (byte 0x{code - 0xDC00:02x} at character {index + 1}); "
                    "check the terminal's encoding (a UTF-8 locale) and type it again")
        if 0xD800 <= code <= 0xDFFF:
            return (f"contains a lone surrogate U+{code:04X} at character {index + 1}, which is not "
                    "valid Unicode text")
    return None
