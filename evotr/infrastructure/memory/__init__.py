"""In-memory implementations of every port: fast tests and users who want no external store."""
