"""Alembic migrations of the state database, run by :mod:`hitl_active.store.migrations`."""
