"""Durable file operations shared by exports and backups."""

from __future__ import annotations

import os
from pathlib import Path


def fsync_path(path: Path) -> None:
    """fsync a file or a folder (a folder's entry list: so a rename into it survives a crash)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def file_in_the_way(path: Path) -> Path | None:
    """The nearest existing folder above ``path`` that is a file instead, which no folder can be made under; None
    when there is none (the path can be made as far as folders go)."""
    for parent in path.parents:
        if parent.exists():
            return None if parent.is_dir() else parent
    return None
