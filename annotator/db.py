"""Engine, sessions and schema migrations.

SQLite runs in WAL mode with foreign keys on. Reads begin deferred, so they
never block a writer; a transaction that will write starts with ``BEGIN
IMMEDIATE`` (see :func:`write_transaction`), so two writers queue for the lock
instead of failing on a lock upgrade.
PostgreSQL is reached through psycopg 3 (``postgresql+psycopg://``).
"""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str, **kwargs) -> Engine:
    if url.startswith("sqlite"):
        # Each connection is used by one thread at a time; the pool hands them out.
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's begin event emit BEGIN itself (pysqlite's own is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        mode = "IMMEDIATE" if connection.get_execution_options().get("sqlite_write") else "DEFERRED"
        connection.exec_driver_sql(f"BEGIN {mode}")


def write_transaction(session: Session) -> None:
    """Start a transaction that will write: it takes SQLite's write lock up front.

    Any transaction already open on ``session`` is committed first (it is
    expected to hold only reads). On PostgreSQL this is an ordinary BEGIN.
    """
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={"sqlite_write": True})


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions on ``engine``; each keeps the sentences' derived queue counts up to date on flush."""
    from .services.queue import keep_counts  # services import this module; the hook lives with the queue

    return keep_counts(sessionmaker(engine, expire_on_commit=False))


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the schema to ``revision``; idempotent."""
    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def read_snapshot(session: Session) -> None:
    """Start a read transaction that sees one committed state throughout.

    For long reads in batches (an export): any open transaction on
    ``session`` is committed first (so a web request's write lock is
    released); PostgreSQL then reads at REPEATABLE READ, SQLite in a deferred
    transaction, whose WAL snapshot is consistent already.
    """
    if session.in_transaction():
        session.commit()
    options = {"isolation_level": "REPEATABLE READ"} if session.get_bind().dialect.name == "postgresql" else {}
    session.connection(execution_options=options)

