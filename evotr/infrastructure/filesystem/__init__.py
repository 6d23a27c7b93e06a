"""Filesystem implementations of the ports: the home folder and the adapter store."""
