"""Back up and restore the whole database, while the app runs.

SQLite is copied with its online backup API: one read transaction, so the
copy is a committed state even while others write. PostgreSQL is dumped with
``pg_dump --format=custom`` (a repeatable-read snapshot) and restored with
``pg_restore --clean --if-exists --no-owner --single-transaction``; a backup
taken before a schema upgrade is restored over the upgraded database through
``psql --single-transaction``, which first drops the tables and functions the
upgrade added (``--clean`` drops only what the backup holds).

A backup is written beside ``path``, fsynced and renamed into place, so
``path`` holds a whole backup or nothing. A restore refuses while any other
connection has the database open (a running app, a command): their pooled
connections and in-flight work would otherwise meet a database changed under
them. Both raise :class:`BackupError` with a message saying what to do.
"""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url

from ..fsutil import fsync_path

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"


class BackupError(Exception):
    """A backup or restore that cannot be done; nothing was changed."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    backend: str  # "sqlite" | "postgresql"
    size: int  # bytes


def backup(database_url: str, path: str | os.PathLike[str], *, force: bool = False) -> BackupResult:
    """Write a consistent copy of the database at ``database_url`` to ``path``.

    Raises BackupError, writing nothing, when ``path`` exists and ``force`` is
    false, ``path`` is not a regular file or is one of the SQLite database's own
    files (even with ``force``), the backend is not SQLite or PostgreSQL, or
    pg_dump is missing or fails.
    """
    url = make_url(database_url)
    path = Path(path).absolute()
    if path.is_dir():
        raise BackupError(f"{path} is a directory; give a file name for the backup")
    if path.exists() and not path.is_file():
        raise BackupError(f"{path} is not a regular file (a device, a pipe, a socket); give a file name for the backup")
    backend = _backend(url)
    if backend == "sqlite":
        _refuse_database_files(_sqlite_path(url), path)
    if path.exists() and not force:
        raise BackupError(f"{path} exists; use --force to overwrite it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:  # a folder on the way is a file, no permission, a read-only file system
        raise BackupError(f"{path} cannot be written ({exc.strerror or exc}); choose another path") from None
    os.close(fd)
    tmp = Path(name)
    try:
        if backend == "sqlite":
            _sqlite_backup(_sqlite_path(url), tmp)
        else:
            _pg_dump(url, tmp)
        fsync_path(tmp)
        _move_into_place(tmp, path, force)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_path(path.parent)
    return BackupResult(path, backend, path.stat().st_size)


def restore(database_url: str, path: str | os.PathLike[str]) -> str:
    """Replace the contents of the database at ``database_url`` with the backup at ``path``.

    All or nothing: SQLite's pages are copied in one transaction, PostgreSQL
    is restored in one transaction. Returns the backend name. Raises
    BackupError, changing nothing, when ``path`` is not a backup of this
    backend, the backup is damaged, or another connection has the database
    open.
    """
    url = make_url(database_url)
    path = Path(path).absolute()
    if not path.is_file():
        raise BackupError(f"{path} does not exist or is not a file")
    backend = _backend(url)
    with open(path, "rb") as fh:
        head = fh.read(16)
    if backend == "sqlite":
        if not head.startswith(SQLITE_MAGIC):
            kind = "a PostgreSQL dump" if head.startswith(PG_DUMP_MAGIC) else "not a SQLite database"
            raise BackupError(f"{path} is {kind}; restore a backup taken from a SQLite database")
        _sqlite_restore(path, _sqlite_path(url))
    else:
        if not head.startswith(PG_DUMP_MAGIC):
            kind = "a SQLite database" if head.startswith(SQLITE_MAGIC) else "not a pg_dump custom-format file"
            raise BackupError(f"{path} is {kind}; restore a backup taken with 'annotator backup' from PostgreSQL")
        _pg_restore(url, path)
    return backend


# --- SQLite ---------------------------------------------------------------------------


def _sqlite_path(url: URL) -> Path:
    if url.database in (None, "", ":memory:") or (url.query.get("mode") == "memory"):
        raise BackupError("an in-memory SQLite database cannot be backed up or restored; use a file")
    return Path(url.database).absolute()


def _refuse_database_files(database: Path, path: Path) -> None:
    """BackupError if ``path`` is the database file or one of SQLite's files beside it.

    Replacing them would not touch a running app's open file: its later writes would go
    to a file no longer in the folder, and be lost.
    """
    database = database.resolve()  # SQLite keeps its -wal and -shm beside the file a link points to
    for own in (database, *(database.with_name(database.name + suffix) for suffix in ("-wal", "-shm", "-journal"))):
        same = path.resolve() == own.resolve()
        try:
            same = same or os.path.samefile(path, own)  # a hard link to it, too
        except OSError:
            pass  # one of the two does not exist
        if same:
            raise BackupError(
                f"{path} is the database's own file ({own.name}); give the backup a path of its own. Nothing was changed"
            )


def _sqlite_backup(source: Path, target: Path) -> None:
    if not source.is_file():
        raise BackupError(f"the database file {source} does not exist; run 'annotator init' first")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        # pages=-1: one step, one read transaction, hence one committed state.
        src.backup(dst, pages=-1)
        # A single self-contained file, whatever journal mode the source uses.
        dst.execute("PRAGMA journal_mode=DELETE")
        _sqlite_check(dst, target)
    finally:
        dst.close()
        src.close()


def _sqlite_check(connection: sqlite3.Connection, path: Path) -> None:
    try:
        result = [row[0] for row in connection.execute("PRAGMA integrity_check")]
        has_schema = connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
        ).fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a readable SQLite database ({exc})") from None
    if result != ["ok"]:
        raise BackupError(f"{path} is damaged: {'; '.join(result[:3])}")
    if not has_schema:
        raise BackupError(f"{path} is not an annotator database (no schema version)")


def _sqlite_restore(backup_path: Path, target: Path) -> None:
    src = sqlite3.connect(f"file:{backup_path}?mode=ro", uri=True)
    try:
        _sqlite_check(src, backup_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            # No database yet: copy beside, fsync, rename into place.
            fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
            os.close(fd)
            tmp = Path(name)
            try:
                dst = sqlite3.connect(tmp)
                try:
                    src.backup(dst)
                finally:
                    dst.close()
                fsync_path(tmp)
                os.rename(tmp, target)
            finally:
                tmp.unlink(missing_ok=True)
            fsync_path(target.parent)
            return
        # An existing database is overwritten in place, through SQLite: the copy is one
        # journaled transaction (a crash leaves the old state), and every connection keeps
        # pointing at the same file. Renaming a new file over it would strand connections
        # opened just before on the old, deleted file.
        guard = sqlite3.connect(target, timeout=1, isolation_level=None)
        try:
            guard.execute("PRAGMA locking_mode=EXCLUSIVE")
            try:
                # In WAL mode every open connection holds a shared lock, so this also
                # refuses while an idle app process keeps the database open.
                guard.execute("BEGIN EXCLUSIVE")
                guard.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise BackupError(f"{target} cannot be opened for restore ({exc})") from None
                raise BackupError(
                    f"{target} is in use by another process (the app or a command); "
                    "stop it, then run the restore again. Nothing was changed."
                ) from None
            src.backup(guard)
        finally:
            guard.close()
    finally:
        src.close()


# --- PostgreSQL -----------------------------------------------------------------------


def _backend(url: URL) -> str:
    name = url.get_backend_name()
    if name in ("sqlite", "postgresql"):
        return name
    raise BackupError(f"backups of {name} databases are not supported; use SQLite or PostgreSQL")


def find_pg_tool(name: str) -> str:
    """The newest ``/usr/lib/postgresql/*/bin/<name>``, else ``<name>`` on PATH."""

    def version(candidate: str) -> tuple[int, ...]:
        part = Path(candidate).parent.parent.name
        return tuple(int(p) for p in part.split(".") if p.isdigit())

    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=version)
    if found:
        return found[-1]
    on_path = shutil.which(name)
    if on_path:
        return on_path
    raise BackupError(
        f"{name} was not found in /usr/lib/postgresql/*/bin or on PATH; install the PostgreSQL client tools (apt-get install postgresql-client)"
    )


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URI without the password, and the environment carrying it."""
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(args: list[str], env: dict[str, str], what: str) -> subprocess.CompletedProcess:
    result = subprocess.run(args, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise BackupError(f"{what} failed: {' / '.join(detail[-3:]) or f'exit status {result.returncode}'}")
    return result


def _pg_dump(url: URL, target: Path) -> None:
    dsn, env = _libpq(url)
    _run(
        [find_pg_tool("pg_dump"), "--format=custom", "--no-password", f"--file={target}", f"--dbname={dsn}"],
        env,
        "pg_dump",
    )


def _pg_restore(url: URL, path: Path) -> None:
    tool = find_pg_tool("pg_restore")
    dsn, env = _libpq(url)
    listing = _run([tool, "--list", str(path)], env, f"reading {path}").stdout
    if " alembic_version " not in listing:
        raise BackupError(f"{path} is not a backup of an annotator database (no schema version)")
    _refuse_if_in_use(url)
    restore = [tool, "--clean", "--if-exists", "--no-owner", "--exit-on-error", "--no-password"]
    stray = _stray_objects(url, listing)
    if not stray:
        _run([*restore, "--single-transaction", f"--dbname={dsn}", str(path)], env, "pg_restore (nothing was changed)")
        return
    # A backup taken before an upgrade: the tables and functions the upgrade added are not in it, and
    # --clean could not drop the tables they depend on. They are dropped in the restore's transaction.
    drops = "; ".join(f"DROP {kind} IF EXISTS public.{_quoted(name)} CASCADE" for kind, name in stray)
    with tempfile.TemporaryFile() as errors:
        script = subprocess.Popen([*restore, "--file=-", str(path)], env=env, stdout=subprocess.PIPE, stderr=errors)
        assert script.stdout is not None
        try:
            applied = subprocess.run(
                [
                    find_pg_tool("psql"),
                    "--no-psqlrc",
                    "--quiet",
                    "--single-transaction",
                    "--set=ON_ERROR_STOP=1",
                    "--no-password",
                    f"--dbname={dsn}",
                    f"--command={drops}",
                    "--file=-",
                ],
                env=env,
                stdin=script.stdout,
                capture_output=True,
                text=True,
            )
        finally:
            script.stdout.close()
            read_failed = script.wait() != 0
        errors.seek(0)
        if read_failed or applied.returncode != 0:
            detail = (errors.read().decode(errors="replace") + applied.stderr).strip().splitlines()
            raise BackupError(f"pg_restore (nothing was changed) failed: {' / '.join(detail[-3:])}")


def _stray_objects(url: URL, listing: str) -> list[tuple[str, str]]:
    """("TABLE" or "FUNCTION", name) of the database's own objects in schema public that the backup lacks."""
    import re

    kept = set(re.findall(r"^\d+; \d+ \d+ (TABLE|FUNCTION) public (\w+)", listing, re.MULTILINE))
    present = _query(
        url,
        "SELECT 'TABLE', tablename FROM pg_tables WHERE schemaname = 'public' "
        "UNION ALL SELECT 'FUNCTION', p.proname FROM pg_proc p "
        "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' "
        "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')",
    )
    return sorted((kind, name) for kind, name in present if (kind, name) not in kept)


def _query(url: URL, sql: str) -> list[Any]:
    """The rows of one query on its own short-lived connection."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(sql)).all())
    finally:
        engine.dispose()


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _refuse_if_in_use(url: URL) -> None:
    ((others,),) = _query(
        url,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
    )
    if others:
        raise BackupError(
            f"database {url.database!r} has {others} other connection(s) (the app or a command); "
            "stop them, then run the restore again. Nothing was changed."
        )


# --- Files ----------------------------------------------------------------------------


def _move_into_place(tmp: Path, path: Path, force: bool) -> None:
    if force:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)  # fails if path appeared meanwhile: never overwrite without --force
    except FileExistsError:
        raise BackupError(f"{path} appeared while backing up; use --force to overwrite it") from None
    tmp.unlink()


__all__ = ["BackupError", "BackupResult", "backup", "find_pg_tool", "restore"]
