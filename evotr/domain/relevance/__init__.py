"""Relevance of a stored memory to a message beyond embedding similarity: Turkish terms, kinds, answers."""
