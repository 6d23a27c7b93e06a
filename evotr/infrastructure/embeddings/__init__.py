"""Sentence embedders for long-term memory: offline models shipped inside their PyPI wheels."""
