"""Use cases that measure and improve models: comparison of adapters, preference accuracy."""
