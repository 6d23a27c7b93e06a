"""Pure domain models and rules: standard library and attrs only."""
