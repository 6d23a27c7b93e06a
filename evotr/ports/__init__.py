"""Ports: the interfaces the application needs, as typing.Protocol classes (one per file)."""
