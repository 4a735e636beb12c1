"""A model version scored like an annotator: its spans against adjudicated gold it did not train on.

The review dashboard and ``annotator agreement`` show it as one more row of the
annotator-vs-gold table. The held-out sentences are the adjudicated ones
outside every report of the version's train split; that split is read from
the version's own export (``export.heldout.read_train_split``, checked against
the content hash the version recorded), not recomputed from today's data. The
figures are ``metrics.gold_scores.model_vs_gold``, the strict match and
``_prf`` of the human rows; the annotators are scored again on the same
sentences (``annotator_vs_gold``) so that the two compare on equal terms.

Running a pipeline over the gold takes seconds, so a row is kept per process
under (version id, its status and content hash, the project's annotations and gold
fingerprint (``services.fingerprint``), the resampling): any annotation or gold saved,
replaced or removed, or a change of labels, gives a new key. The model's spans on a sentence do not depend on the gold,
so they are kept apart, per version and sentence: after a gold change only
newly adjudicated sentences go through the pipeline. Functions receive the
session and never commit.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import database_key
from ..export.files import ExportError
from ..export.heldout import TrainSplit
from ..models import GoldAnnotation, ModelVersion, Project, Sentence
from ..records import SentenceRecord
from .fingerprint import annotations_and_gold
from .model_versions import PIPELINE, active_version, get_version, pipeline_path
from .rows import ProjectRecords, project_records

EXPORT_FOLDER = "export"  # where a run writes its export inside its folder (cli/training_job.py)
EXCLUDED = "adjudicated sentences of the reports in its training split are left out"

_CACHE: OrderedDict[tuple, dict[str, Any]] = OrderedDict()
_CACHE_SIZE = 16
# (database, version id, content hash, folder) -> {sentence id: (text, the model's spans on it)}, and the
# version's train split: neither changes with the gold.
_PREDICTIONS: OrderedDict[tuple, dict[int, tuple[str, list[tuple[int, int, str]]]]] = OrderedDict()
_SPLITS: OrderedDict[tuple, TrainSplit] = OrderedDict()
_PREDICTIONS_SIZE = 4
_lock = threading.Lock()


def model_gold_row(
    session: Session, project: Project, number: int | None = None, n_resamples: int = 1000, seed: int = 0
) -> dict[str, Any] | None:
    """Version ``number`` (default: the active one) against held-out adjudicated gold; None without a version.

    ``{"name": "model vN", "version", "precision", "recall", "f1", "by_label", "ci",
    "sentences" (scored), "gold" (adjudicated sentences), "excluded" (those in
    training reports), "annotators" (each annotator on the same sentences),
    "reason"}``; with no sentence to score, or a version whose export or
    pipeline cannot be read, the figures are None and ``reason`` says why.
    Raises ``VersionNotFound`` for an unknown ``number``.
    """
    version = active_version(session, project) if number is None else get_version(session, project, number)
    if version is None:
        return None
    key = (
        version.id,
        version.status,
        version.content_sha256,
        annotations_and_gold(session, project),
        n_resamples,
        seed,
    )
    with _lock:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _copy(_CACHE[key])
    row = _score(session, project, version, n_resamples, seed)
    with _lock:
        _CACHE[key] = row
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return _copy(row)


def _copy(row: dict[str, Any]) -> dict[str, Any]:
    import copy

    return copy.deepcopy(row)


def held_out_gold(
    session: Session, project: Project, training_reports: frozenset[int]
) -> tuple[ProjectRecords, list[SentenceRecord]]:
    """The records of the project's sentences with gold, and those of them outside ``training_reports``
    (the report ids of a version's train split): the held-out gold a version is scored on."""
    gold_ids = session.scalars(
        select(GoldAnnotation.sentence_id)
        .join(Sentence, Sentence.id == GoldAnnotation.sentence_id)
        .where(Sentence.project_id == project.id)
    ).all()
    records = project_records(session, project, gold_ids)
    return records, [s for s in records.sentences if s.id in records.gold and s.report_id not in training_reports]


def _score(session: Session, project: Project, version: ModelVersion, n_resamples: int, seed: int) -> dict[str, Any]:
    from ..export.heldout import predicted_spans, read_train_split  # spaCy: only with a version to score
    from ..metrics.gold_scores import annotator_vs_gold, model_vs_gold  # numpy: the same
    from .suggestions import load_model

    labels = [label["name"] for label in project.labels]
    row: dict[str, Any] = {
        "name": f"model v{version.number}",
        "version": version.number,
        "task": version.task,
        "exclusion": EXCLUDED,
    }
    if version.status != "done":
        return _unscored(row, labels, f"version {version.number} is {version.status}: only a finished run is scored")
    where = (database_key(session), version.id, version.content_sha256, version.pipeline_dir)
    with _lock:
        split = _SPLITS.get(where)
    if split is None:
        try:
            split = read_train_split(Path(version.pipeline_dir) / EXPORT_FOLDER, version.content_sha256)
        except ExportError as exc:
            return _unscored(row, labels, f"its training split cannot be read: {exc}; train a new version")
        with _lock:
            _SPLITS[where] = split
            while len(_SPLITS) > _PREDICTIONS_SIZE:
                _SPLITS.popitem(last=False)
    nlp = load_model(str(pipeline_path(version)))
    if nlp is None:
        return _unscored(row, labels, f"its pipeline ({PIPELINE}) does not load; train a new version")
    records, held = held_out_gold(session, project, split.reports)
    row["gold"] = len(records.gold)
    row["excluded"] = len(records.gold) - len(held)
    if not held:
        return _unscored(
            row,
            labels,
            f"no adjudicated sentence outside its training reports ({row['excluded']} in them); adjudicate sentences of other reports",
        )
    with _lock:
        known = _PREDICTIONS.setdefault(where, {})
        _PREDICTIONS.move_to_end(where)
        while len(_PREDICTIONS) > _PREDICTIONS_SIZE:
            _PREDICTIONS.popitem(last=False)
        new = [s for s in held if s.id not in known or known[s.id][0] != s.text]
    found = predicted_spans(nlp, [s.text for s in new]) if new else []
    with _lock:
        known.update((s.id, (s.text, spans)) for s, spans in zip(new, found))
    predictions = {s.id: known[s.id][1] for s in held}
    scores = model_vs_gold(predictions, (records.gold[s.id] for s in held), labels, n_resamples, seed)
    held_ids = set(predictions)
    humans = annotator_vs_gold(
        held,
        [a for a in records.annotations if a.sentence_id in held_ids],
        [records.gold[s.id] for s in held],
        labels,
    )
    row.update(scores)
    row["annotators"] = humans["annotators"]
    row["reason"] = None
    return row


def _unscored(row: dict[str, Any], labels: list[str], reason: str) -> dict[str, Any]:
    none = {"precision": None, "recall": None, "f1": None}
    row.setdefault("gold", None)
    row.setdefault("excluded", None)
    row.update(
        none,
        sentences=0,
        by_label={label: dict(none) for label in labels},
        ci=None,
        annotators={},
        reason=reason,
    )
    return row
