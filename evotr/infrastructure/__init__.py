"""Adapters to the outside world: mlx, SQLite, the filesystem, Chroma, google-genai, in-memory."""
