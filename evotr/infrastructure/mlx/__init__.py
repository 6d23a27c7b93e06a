"""MLX adapters: the mlx-lm language model backend and a tiny locally built test model.

Nothing here imports ``mlx`` at package import; import the submodules you need.
"""
