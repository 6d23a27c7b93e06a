"""Use cases of `evotr serve`: model names as adapter choices, API completions and feedback."""
