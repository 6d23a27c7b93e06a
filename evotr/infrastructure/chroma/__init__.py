"""Chroma-backed long-term memory."""
