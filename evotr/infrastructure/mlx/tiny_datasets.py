"""Tiny, deterministic chat datasets in mlx-lm's format for the demo and for trainer tests.

Each line of ``train.jsonl``/``valid.jsonl`` is ``{"messages": [system, user, assistant]}``, the
chat format ``mlx_lm lora`` reads. The content is fixed text, so the same call always writes the
same bytes.
"""

from __future__ import annotations

import json
from pathlib import Path

_SYSTEM = {
    "tr_chat": "Sen yardımsever bir Türkçe asistansın. Kısa ve nazik cevap ver.",
    "python_coder": "Sen bir Python asistanısın. Kısa açıklama ve çalışan kod ver.",
}

_TR_CHAT: tuple[tuple[str, str], ...] = (
    ("Merhaba, nasılsın?", "Merhaba! İyiyim, teşekkür ederim. Sen nasılsın?"),
    ("Osmanlı Devleti ne zaman kuruldu?", "Osmanlı Devleti 1299 yılında kuruldu."),
    ("İstanbul'u kim fethetti?", "İstanbul'u 1453 yılında Fatih Sultan Mehmet fethetti."),
    ("Fizikte hız nedir?", "Hız, alınan yolun geçen zamana oranıdır: v = x / t."),
    ("Çay nasıl demlenir?", "Demliğe çayı koy, üstüne sıcak su ekle ve on dakika demlen."),
    ("Türkiye'nin başkenti neresi?", "Türkiye'nin başkenti Ankara'dır."),
    ("Yerçekimi ivmesi kaçtır?", "Dünya'da yerçekimi ivmesi yaklaşık 9,8 m/s² değerindedir."),
    ("Günaydın!", "Günaydın! Bugün sana nasıl yardımcı olabilirim?"),
    ("Kahvaltıda ne yenir?", "Peynir, zeytin, domates, yumurta ve simit yenir; yanında çay içilir."),
    ("Işık hızı ne kadardır?", "Işık boşlukta saniyede yaklaşık 300.000 kilometre yol alır."),
    ("Teşekkürler!", "Rica ederim, her zaman yardımcı olurum."),
    ("Kanuni Sultan Süleyman kimdir?", "Kanuni, Osmanlı'nın onuncu padişahıdır; 46 yıl hüküm sürdü."),
)

_PYTHON_CODER: tuple[tuple[str, str], ...] = (
    ("Bir listeyi nasıl ters çeviririm?", "Dilimleme kullan:\n```python\nters = liste[::-1]\n```"),
    ("İki sayıyı toplayan fonksiyon yaz.",
     "```python\ndef topla(a: int, b: int) -> int:\n    return a + b\n```"),
    ("Bir dosyayı nasıl okurum?",
     "```python\nwith open(\"veri.txt\", encoding=\"utf-8\") as f:\n    metin = f.read()\n```"),
    ("Çift sayıları nasıl süzerim?", "```python\nciftler = [x for x in sayilar if x % 2 == 0]\n```"),
    ("Sözlükte döngü nasıl kurulur?",
     "```python\nfor anahtar, deger in sozluk.items():\n    print(anahtar, deger)\n```"),
    ("Faktöriyel fonksiyonu yaz.",
     "```python\ndef faktoriyel(n: int) -> int:\n    return 1 if n < 2 else n * faktoriyel(n - 1)\n```"),
    ("Bir metni büyük harfe çevir.", "```python\nbuyuk = metin.upper()\n```"),
    ("Listenin en büyük elemanını bul.", "```python\nen_buyuk = max(liste)\n```"),
    ("Hata nasıl yakalanır?",
     "```python\ntry:\n    sonuc = 1 / 0\nexcept ZeroDivisionError:\n    sonuc = 0\n```"),
    ("JSON nasıl yazılır?",
     "```python\nimport json\n\nmetin = json.dumps({\"ad\": \"Ali\"}, ensure_ascii=False)\n```"),
    ("Bir listeyi sırala.", "```python\nsirali = sorted(liste)\n```"),
    ("Kelimeleri say.", "```python\nsayi = len(metin.split())\n```"),
)

_PAIRS = {"tr_chat": _TR_CHAT, "python_coder": _PYTHON_CODER}

FAMILIES: tuple[str, ...] = tuple(_PAIRS)
"""The families ``write_tiny_chat_dataset`` knows."""


def tiny_chat_examples(family: str, count: int, *, start: int = 0) -> list[dict[str, object]]:
    """``count`` chat examples of ``family`` from position ``start``, cycling through its pairs."""
    if family not in _PAIRS:
        raise ValueError(f"unknown tiny dataset family {family!r}; expected one of {', '.join(FAMILIES)}")
    pairs = _PAIRS[family]
    examples: list[dict[str, object]] = []
    for i in range(start, start + count):
        question, answer = pairs[i % len(pairs)]
        examples.append({"messages": [
            {"role": "system", "content": _SYSTEM[family]},
            {"role": "user", "content": question},
            {"role": "assistant", "content": answer},
        ]})
    return examples


def _write_jsonl(path: Path, rows: list[dict[str, object]]) -> None:
    lines = [json.dumps(row, ensure_ascii=False) for row in rows]
    path.write_text("\n".join(lines) + "\n", "utf-8")


def write_tiny_chat_dataset(folder: Path, family: str, *, n_train: int = 8, n_valid: int = 4) -> Path:
    """Write ``train.jsonl`` and ``valid.jsonl`` for ``family`` into ``folder``; return ``folder``.

    ``family`` is ``"tr_chat"`` (short Turkish Q/A) or ``"python_coder"`` (Python Q/A with code).
    Validation examples follow the training ones, so with the defaults the two sets are disjoint.
    """
    if n_train < 1 or n_valid < 1:
        raise ValueError("n_train and n_valid must be at least 1")
    folder = Path(folder)
    train = tiny_chat_examples(family, n_train)
    valid = tiny_chat_examples(family, n_valid, start=n_train)
    folder.mkdir(parents=True, exist_ok=True)
    _write_jsonl(folder / "train.jsonl", train)
    _write_jsonl(folder / "valid.jsonl", valid)
    return folder
