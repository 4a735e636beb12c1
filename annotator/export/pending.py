"""The exported sentences kept between an export's two passes, in memory or spilled to a file."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path

from .files import DocRow

__all__ = ["Exported", "PendingSentences"]

# What the second pass needs of an exported sentence: its report id (which picks the split), the
# labels of its spans (the counts per split) and its Doc as a DocBin row.
Exported = tuple[int, tuple[str, ...], DocRow]


class PendingSentences:
    """The exported sentences between the two passes: in a list, or spilled to ``path``.

    A spilled batch is one pickle (written and read only by this process,
    in the export's own temporary folder); reading back holds one batch.
    """

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._items: list[Exported] = []
        self._file = open(path, "wb") if path is not None else None

    def __enter__(self) -> PendingSentences:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._file is not None:
            self._file.close()

    def add(self, batch: list[Exported]) -> None:
        if self._file is None:
            self._items.extend(batch)
        elif batch:
            pickle.dump(batch, self._file, protocol=pickle.HIGHEST_PROTOCOL)

    def __iter__(self) -> Iterator[Exported]:
        if self._file is None:
            yield from self._items
            return
        self._file.close()
        assert self._path is not None  # set together with _file
        with open(self._path, "rb") as f:
            while True:
                try:
                    batch = pickle.load(f)
                except EOFError:
                    return
                yield from batch
