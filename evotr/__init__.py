"""EVO-TR: a local, self-improving Turkish + Python assistant on MLX.

Importing this package loads nothing heavy: no weights, no database, no environment reads.
"""

__version__ = "0.1.0"
