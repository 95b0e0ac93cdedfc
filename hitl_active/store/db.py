"""Connections to the state database: SQLite (WAL) by default, PostgreSQL by URL.

:func:`state_url` says which database a workspace uses: ``HITL_DATABASE_URL`` when set,
else the workspace config's ``database_url``, else ``WORKSPACE/state.db``.
:func:`make_engine` builds the SQLAlchemy engine. On SQLite, a write transaction starts
with ``BEGIN IMMEDIATE`` (it takes the file's write lock at once, so read-then-write
claims cannot interleave between processes) and reads with a plain ``BEGIN``.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.pool import StaticPool

__all__ = ["ENV_URL", "begin_write", "describe", "dialect_insert", "make_engine", "state_url"]

ENV_URL = "HITL_DATABASE_URL"
_IMMEDIATE = "hitl_begin_immediate"


def state_url(path: str | Path, configured: str | None = None, env: bool = True) -> str:
    """The database URL of a workspace whose SQLite file would be ``path`` (``env``: let
    ``HITL_DATABASE_URL`` override it)."""
    url = (os.environ.get(ENV_URL) if env else None) or configured
    if url:
        return url
    return "sqlite://" if str(path) == ":memory:" else f"sqlite:///{Path(path)}"


def describe(url: str | sa.URL) -> str:
    """A URL as shown in messages: the password hidden, a SQLite file as its path."""
    u = sa.make_url(url)
    if u.get_backend_name() == "sqlite":
        return u.database or ":memory:"
    return u.render_as_string(hide_password=True)


def make_engine(url: str) -> sa.Engine:
    """An engine for ``url``; PostgreSQL URLs without a driver use psycopg (v3)."""
    u = sa.make_url(url)
    if u.get_backend_name() == "postgresql":
        if u.drivername == "postgresql":
            u = u.set(drivername="postgresql+psycopg")
        if u.drivername == "postgresql+psycopg" and importlib.util.find_spec("psycopg") is None:
            raise ValueError(
                "a PostgreSQL state database needs the psycopg driver: install "
                "hitl-active[postgres] (or `pip install 'psycopg[binary]'`)"
            )
        return sa.create_engine(u, pool_pre_ping=True, pool_size=2, max_overflow=8)
    if u.get_backend_name() != "sqlite":
        raise ValueError(
            f"state database URL {describe(u)!r} is neither SQLite nor PostgreSQL; use "
            "sqlite:///PATH or postgresql://USER@HOST/DB"
        )
    memory = u.database in (None, "", ":memory:")
    extra: dict[str, Any] = {"poolclass": StaticPool} if memory else {}
    engine = sa.create_engine(
        u, connect_args={"timeout": 30.0, "check_same_thread": False}, **extra
    )

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi: Any, _record: Any) -> None:
        dbapi.isolation_level = None  # transactions are begun below, not by the driver
        dbapi.execute("PRAGMA foreign_keys = ON")
        if not memory:
            dbapi.execute("PRAGMA journal_mode = WAL")
        dbapi.execute("PRAGMA synchronous = NORMAL")

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        immediate = conn.info.pop(_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def dialect_insert(dialect: str, table: sa.Table) -> Any:
    """An INSERT of ``table`` that knows ``ON CONFLICT`` (SQLite and PostgreSQL alike)."""
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return insert(table)


def begin_write(conn: sa.Connection) -> None:
    """Mark ``conn``'s next transaction as a write (``BEGIN IMMEDIATE`` on SQLite)."""
    conn.info[_IMMEDIATE] = True
