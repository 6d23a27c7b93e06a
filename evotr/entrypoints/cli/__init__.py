"""The Click command-line interface: `evotr` and its command groups (entry point: main.main)."""
