"""SQLite storage: one database file per home folder, shared by every entrypoint."""
