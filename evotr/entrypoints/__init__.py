"""Entry points: the Click CLI (later an HTTP server)."""
