"""Homes for CLI tests: the shipped configs on the in-memory LLM (fast, no model to load)."""

from __future__ import annotations

import json
import random
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def memory_llm_home(home: Path) -> Path:
    """Create ``home`` with an evotr.yaml that serves the in-memory LLM and the shipped intents."""
    home.mkdir(parents=True, exist_ok=True)
    text = (REPO / "configs" / "evotr.yaml").read_text("utf-8")
    text = text.replace("  llm: mlx ", "  llm: memory ")
    text = text.replace("intents_file: intents.yaml", f"intents_file: {REPO / 'configs' / 'intents.yaml'}")
    assert "llm: memory" in text, "configs/evotr.yaml no longer selects the LLM backend the way this expects"
    (home / "evotr.yaml").write_text(text, "utf-8")
    return home


def code_responder(prompt: str, rng: random.Random) -> str:
    """A valid python_code answer for the fake Gemini server, fenced like Gemma's, unique per call."""
    n = rng.randrange(10**12)
    sample = {"user": f"Listeyi nasıl ters çeviririm? ({n})",
              "assistant": f"Şöyle:\n```python\nitems = [1, 2, {n}]\nprint(items[::-1])\n```"}
    return "```json\n" + json.dumps(sample, ensure_ascii=False) + "\n```"
