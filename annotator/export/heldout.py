"""What a trained pipeline did not train on, and its spans on other sentences.

A model version trains on its export's ``train.spacy``; every Doc there carries
its ``report_id`` and ``sentence_id`` in its user data (``first_pass.FirstPass``).
:func:`read_train_split` reads them back, after checking that the export's
DocBin files are the ones the version recorded (``content_sha256``), so the
held-out set is exactly what the run did not see, whatever changed in the
project since. :func:`predicted_spans` runs a pipeline over texts in batches.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .files import ExportError, content_sha256, split_files

if TYPE_CHECKING:
    from spacy.language import Language

__all__ = ["TrainSplit", "predicted_spans", "read_train_split"]

Key = tuple[int, int, str]


@dataclass(frozen=True)
class TrainSplit:
    """The reports and sentences an export put in its train split."""

    reports: frozenset[int]
    sentences: frozenset[int]


def read_train_split(export_dir: str | os.PathLike[str], expected_sha256: str | None) -> TrainSplit:
    """The train split of the export in ``export_dir``, read from its DocBin user data.

    Raises ``ExportError`` (its message names no path: it is shown on pages)
    when the split files are missing, when their
    content hash is not ``expected_sha256`` (the export was replaced, or the
    version never recorded one), or when a Doc carries no ``report_id``.
    """
    from spacy.tokens import DocBin

    from .files import UserDataReader

    folder = Path(export_dir)
    train, dev = folder / "train.spacy", folder / "dev.spacy"
    if not train.exists() or not dev.exists():
        raise ExportError("its export's train.spacy or dev.spacy is missing")
    files = split_files(train) + split_files(dev)
    if expected_sha256 is None or content_sha256(files) != expected_sha256:
        raise ExportError("its export is not the one it trained on (the content hash differs)")
    reports: set[int] = set()
    sentences: set[int] = set()
    read = UserDataReader()
    for path in split_files(train):
        docbin = DocBin(store_user_data=True).from_bytes(path.read_bytes())
        for packed in docbin.user_data:
            data = read(packed) if packed else {}
            if "report_id" not in data or "sentence_id" not in data:
                raise ExportError(f"a Doc in its export's {path.name} has no report_id and sentence_id")
            reports.add(int(data["report_id"]))
            sentences.add(int(data["sentence_id"]))
    return TrainSplit(frozenset(reports), frozenset(sentences))


def predicted_spans(nlp: Language, texts: Sequence[str], batch_size: int = 256) -> list[list[Key]]:
    """The pipeline's spans on each text, as ``(start_char, end_char, label)`` sorted, one list per text.

    As the suggestions read a pipeline: the spancat component's span group when
    it has one, else ``doc.ents``. Offsets are code points into the text, end
    exclusive. Texts go through ``nlp.pipe`` in batches of ``batch_size``.
    """
    from .training import spancat_key  # spaCy: loaded only when a pipeline is run

    key = spancat_key(nlp)
    found: list[list[Key]] = []
    for doc in nlp.pipe(texts, batch_size=batch_size):
        spans: Iterable = doc.spans.get(key, []) if key is not None else doc.ents
        found.append(sorted({(s.start_char, s.end_char, s.label_) for s in spans}))
    return found
