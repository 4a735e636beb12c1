"""Compiled page templates kept across starts and instance folders, where only this user can write.

Compiling the page templates takes about 0.2 s, a quarter of a server's start.
Their compiled code is kept in a per-user cache folder,
``$XDG_CACHE_HOME/annotator/templates`` (by default ``~/.cache/annotator/templates``;
``TEMPLATE_CACHE_DIR`` to choose another), so that a start on a new instance
folder finds them compiled by an earlier start. What is loaded from there is
run as code, so a folder is used only if it is a directory of this user that
no other user can write into, nor any of the folders above it (a sticky
``/tmp``-like folder excepted); else the instance folder's
``template-cache`` under the same rule; else nothing is kept (templates are
compiled in memory at each start).

A kept template is never served stale or damaged: inside the folder, one
sub-folder per Jinja version, Python bytecode tag and environment settings
that shape the compiled code (``cache_key``); each file names its template by
name and path, holds the checksum of the source it was compiled from (Jinja
compiles again when the source differs) and a digest of its own bytes (a
torn or damaged file is compiled again and replaced). Files are written aside
and renamed into place, so processes starting together never read a half
written one.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import sys
import tempfile
from contextlib import suppress
from pathlib import Path

import jinja2
from flask import Flask
from jinja2 import Environment, FileSystemBytecodeCache
from jinja2.bccache import Bucket

log = logging.getLogger(__name__)

MAGIC = b"annotator-template-1\n"  # then the SHA-256 of the rest, then Jinja's bucket
DIGEST = hashlib.sha256().digest_size


def template_cache(app: Flask) -> CheckedBytecodeCache | None:
    """The bytecode cache for ``app``'s templates, in the first private folder of: configured or per-user, instance."""
    key = cache_key(app.jinja_env)
    chosen = app.config.get("TEMPLATE_CACHE_DIR") or user_cache_dir()
    candidates = [Path(chosen)] if chosen else []
    candidates.append(Path(app.instance_path) / "template-cache")
    for base in candidates:
        folder = private_folder(base / key)
        if folder is not None:
            return CheckedBytecodeCache(str(folder))
        log.warning("Compiled templates are not kept in %s: not a folder only this user can write", base)
    return None


def user_cache_dir() -> Path | None:
    """``$XDG_CACHE_HOME/annotator/templates``, else ``~/.cache/annotator/templates``; None without a home."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if os.path.isabs(xdg):
        return Path(xdg) / "annotator" / "templates"
    try:
        return Path.home() / ".cache" / "annotator" / "templates"
    except RuntimeError:  # no HOME and no password entry
        return None


def cache_key(env: Environment) -> str:
    """A short digest of what, besides a template's source, decides its compiled code.

    Jinja's version and Python's bytecode tag; the syntax settings; the
    extensions; autoescaping and ``finalize`` (compiled into the code); the
    names of the filters and tests (a filter applied to a constant is run at
    compile time).
    """

    def name(value) -> str:
        return getattr(value, "__qualname__", repr(value))

    settings = (
        jinja2.__version__,
        sys.implementation.cache_tag,
        env.block_start_string,
        env.block_end_string,
        env.variable_start_string,
        env.variable_end_string,
        env.comment_start_string,
        env.comment_end_string,
        env.line_statement_prefix,
        env.line_comment_prefix,
        env.trim_blocks,
        env.lstrip_blocks,
        env.newline_sequence,
        env.keep_trailing_newline,
        env.optimized,
        env.is_async,
        sorted(env.extensions),
        name(env.autoescape),
        name(env.finalize),
        sorted((key, name(value)) for key, value in env.filters.items()),
        sorted((key, name(value)) for key, value in env.tests.items()),
    )
    return hashlib.sha256(repr(settings).encode()).hexdigest()[:16]


def private_folder(path: Path) -> Path | None:
    """``path`` (resolved), made with mode 0700 if missing, if no user but this one (or root) can change it; else None.

    The folder must be this user's and writable by no one else; every folder
    above it owned by this user or root and writable by no one else, unless it
    is sticky (as ``/tmp`` is: others cannot rename or remove what is not
    theirs). Nothing is made below a folder that fails this.
    """
    try:
        missing = [p for p in (path, *path.parents) if not p.exists()]
        if missing:
            above = missing[-1].parent.resolve(strict=True)
            if not (_only_owner_can_change(above, parent=True) and _above_are_safe(above)):
                return None
            for folder in reversed(missing):
                with suppress(FileExistsError):
                    folder.mkdir(mode=0o700)
        real = path.resolve(strict=True)
        if not (real.is_dir() and _only_owner_can_change(real, parent=False) and _above_are_safe(real)):
            return None
    except OSError:
        return None
    return real


def _above_are_safe(real: Path) -> bool:
    return all(_only_owner_can_change(parent, parent=True) for parent in real.parents)


def _only_owner_can_change(real: Path, *, parent: bool) -> bool:
    """Whether only this user (or, for a ``parent``, root; or anyone for what they own, if sticky) can change ``real``."""
    if not hasattr(os, "getuid"):
        return True  # no owners to check on this system
    mode = os.lstat(real)
    owners = (os.getuid(), 0) if parent else (os.getuid(),)
    others_write = mode.st_mode & 0o022 and not (parent and mode.st_mode & stat.S_ISVTX)
    return mode.st_uid in owners and not others_write


class CheckedBytecodeCache(FileSystemBytecodeCache):
    """Jinja's file bytecode cache, each file carrying a digest of its own bytes.

    A file whose digest, header or content does not check out is ignored (the
    template is compiled again and the file replaced); a file that cannot be
    written is not kept, and the page is served all the same.
    """

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            with open(self._get_cache_filename(bucket), "rb") as fh:
                data = fh.read()
        except OSError:
            return
        digest, body = data[len(MAGIC) : len(MAGIC) + DIGEST], data[len(MAGIC) + DIGEST :]
        if not data.startswith(MAGIC) or hashlib.sha256(body).digest() != digest:
            return
        try:
            bucket.bytecode_from_string(body)  # checks Jinja's header and the source's checksum
        except Exception:  # noqa: BLE001 - whatever is wrong with it, compiling again is the answer
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        body = bucket.bytecode_to_string()
        name = self._get_cache_filename(bucket)
        temporary = None
        try:
            fd, temporary = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                fh.write(MAGIC + hashlib.sha256(body).digest() + body)
            os.replace(temporary, name)
        except OSError as error:
            log.warning("A compiled template was not kept in %s: %s", self.directory, error)
        finally:
            if temporary is not None:
                with suppress(FileNotFoundError):
                    os.unlink(temporary)
