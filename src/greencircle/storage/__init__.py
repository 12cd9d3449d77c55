"""Storage: engines (SQLite WAL embedded default, PostgreSQL production), base, migrations."""
