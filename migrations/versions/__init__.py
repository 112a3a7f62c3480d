"""Alembic revisions, with fixed ids ("0001", "0002", ...) chained by down_revision."""
