"""Records: one schema for SQLite (embedded) and PostgreSQL (scale), versioned by Alembic."""
