"""Background processes (the automatic `feedback train` run)."""
