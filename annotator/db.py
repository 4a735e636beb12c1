"""Engine, sessions and schema migrations.

SQLite runs in WAL mode with foreign keys on. Reads begin deferred, so they
never block a writer; a transaction that will write starts with ``BEGIN
IMMEDIATE`` (see :func:`write_transaction`), so two writers queue for the lock
instead of failing on a lock upgrade.
PostgreSQL is reached through psycopg 3 (``postgresql+psycopg://``).
"""

from __future__ import annotations

import select
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:  # Alembic loads only when the schema has to change
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
SCHEMA_HEAD = "0018"  # the newest migration's revision (tests/test_migrations.py checks it against Alembic's head)
BUSY_TIMEOUT = 30.0  # seconds a SQLite connection waits for a lock before "database is locked"
WRITE_LOCK_POLL = 0.001  # seconds between tries for SQLite's write lock
PING_AFTER_IDLE = 1.0  # seconds a pooled PostgreSQL connection may sit unused before a checkout pings it


def make_engine(url: str, **kwargs) -> Engine:
    if url.startswith("sqlite"):
        # Each connection is used by one thread at a time; the pool hands them out.
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": BUSY_TIMEOUT})
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    ping = "pool_pre_ping" not in kwargs
    engine = create_engine(url, **kwargs)
    if ping:
        _ping_idle_connections(engine)
    return engine


def _ping_idle_connections(engine: Engine) -> None:
    """Check a pooled connection before handing it out, pinging it only when it may have been dropped.

    A connection the server dropped meanwhile (a restart, an idle timeout) is replaced
    instead of failing the request that gets it, as ``pool_pre_ping`` does. The ping (a
    server round trip) is sent when the connection sat unused for over PING_AFTER_IDLE
    seconds, or when the server wrote to it while it was idle: an idle connection's socket
    has nothing to read unless the server closed it (its goodbye, then end of file) or sent
    a notice. That check costs no round trip, so a busy server's requests pay nothing.
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy):
        idle_since = record.info.get("idle_since")  # None: connected just now
        if idle_since is None:
            return
        if time.monotonic() - idle_since <= PING_AFTER_IDLE and not _server_wrote(dbapi_connection):
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise exc.DisconnectionError() from error  # the pool discards it and connects again


def _server_wrote(dbapi_connection) -> bool:
    """Whether the server sent something on this idle psycopg connection (or closed it): its socket is readable."""
    try:
        ready, _, _ = select.select([dbapi_connection.pgconn.socket], [], [], 0)
    except Exception:  # noqa: BLE001 - not psycopg's, or its socket is gone already: the ping decides
        return True
    return bool(ready)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's begin event emit BEGIN itself (pysqlite's own is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        if connection.get_execution_options().get("sqlite_write"):
            _begin_immediate(connection)
        else:
            connection.exec_driver_sql("BEGIN DEFERRED")


def _begin_immediate(connection) -> None:
    """``BEGIN IMMEDIATE``, retried every millisecond while another connection holds the write lock.

    SQLite's own busy handler sleeps 1, 2, 5, 10, ... then 100 ms between tries, so a
    writer that queues behind a few others oversleeps the lock by tens of milliseconds:
    with fifty annotators on four workers that made the slowest saves 100 ms or more
    (tests/benchmarks/bench_roundtrip.py). Past BUSY_TIMEOUT the ordinary wait takes over.
    """
    driver = connection.connection.driver_connection
    deadline = time.monotonic() + BUSY_TIMEOUT
    driver.execute("PRAGMA busy_timeout=0")
    try:
        while time.monotonic() < deadline:
            try:
                driver.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:  # extended codes: BUSY_RECOVERY, ...
                    raise
            time.sleep(WRITE_LOCK_POLL)
    finally:
        driver.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def write_transaction(session: Session) -> None:
    """Start a transaction that will write: it takes SQLite's write lock up front.

    On SQLite any transaction already open on ``session`` is committed first
    (it is expected to hold only reads): a deferred transaction cannot take
    the write lock safely later. On PostgreSQL there is no lock to take, so an
    open transaction simply goes on (no extra COMMIT and BEGIN round trips);
    otherwise an ordinary BEGIN.
    """
    if not single_writer(session):
        session.connection()
        return
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={"sqlite_write": True})


def lease_only_commit(session: Session) -> None:
    """The transaction open on ``session`` writes only leases: on PostgreSQL its commit does not wait
    for the write-ahead log to reach the disk (``synchronous_commit = off``, for this transaction).

    A lease is soft state: it expires on its own, and a save does not need it. A crash of the
    database server in the next few hundred milliseconds can forget the lease (never a
    committed annotation: saves stay synchronous), which at worst lets another annotator claim the
    sentence. The commit is visible to other sessions at once, as ever. It is what SQLite's WAL
    mode with ``synchronous=NORMAL`` gives every commit. Nothing to do on SQLite.
    """
    if not single_writer(session):
        session.connection().exec_driver_sql("SET LOCAL synchronous_commit = off")


def core_connection(session: Session) -> Connection:
    """``session``'s connection, for Core statements that read or write rows, not ORM objects.

    ``session.execute`` takes every statement through the ORM's execution layer, which costs
    several times a small indexed query itself; the labelling round trip runs its Core
    statements here instead. Pending ORM changes are flushed first, as ``session.execute``
    would autoflush them; rows written here are not in the session (expire what they change).
    """
    if session.autoflush and (session.new or session.dirty or session.deleted):
        session.flush()
    return session.connection()


def single_writer(session: Session) -> bool:
    """Whether a write transaction on ``session`` shuts out every other writer (SQLite).

    Such a transaction should commit before any work that does not need it; on
    PostgreSQL, where writers lock rows, reading on in the same transaction saves
    the round trips of a new one.
    """
    return session.get_bind().dialect.name == "sqlite"


def database_key(session: Session) -> str:
    """Which database ``session`` is on, as text: part of the key of every per-process cache,
    so that figures of two databases (a test's, a restored one's) are never mixed up."""
    return session.get_bind().engine.url.render_as_string(hide_password=True)  # a Connection bind: its engine's


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Plain sessions on ``engine``. The app's sessions, which also keep the derived queue counts and
    settings tokens, come from ``annotator.services.unit_of_work.session_factory``."""
    return sessionmaker(engine, expire_on_commit=False)


# Schema objects that migrations make by hand and no model declares: the trigram text index (migration 0007).
UNMODELLED = ("sentences_text", "ix_sentences_text_trgm")


def modelled(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's ``include_name``: compare only what the models declare, not the text search index."""
    return not (name or "").startswith(UNMODELLED)


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the schema to ``revision``; idempotent."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def ensure_current(engine: Engine) -> str | None:
    """Upgrade the schema if it is not at :data:`SCHEMA_HEAD`; the revision it was at before.

    An up-to-date database costs one query and never loads Alembic.
    """
    before = current_revision(engine)
    if before != SCHEMA_HEAD:
        upgrade(engine)
    return before


def current_revision(engine: Engine) -> str | None:
    """The schema's revision, in one query; None for a database Alembic never touched."""
    with engine.connect() as connection:
        try:
            return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
        except exc.DBAPIError:  # no such table
            return None


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
