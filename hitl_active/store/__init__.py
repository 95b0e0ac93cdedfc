"""The workspace's state store: SQLAlchemy tables, row types, Alembic migrations (run on open),
prediction chunks, claims and the annotation sink. SQLite by default, PostgreSQL by URL."""

from hitl_active.store.store import SchemaTooNewError, Store

__all__ = ["SchemaTooNewError", "Store"]
