"""Train and apply a spaCy pipeline from an export directory, on the CPU.

A thin layer over spaCy's own training API (``spacy.cli.train.train``), so
that a model trained here is the same as one trained with
``python -m spacy train``. Pure: no Flask, no database.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from spacy.language import Language

from ..records import SpanRecord

EXPORT_FILES = ("config.cfg", "train.spacy", "dev.spacy")


class TrainingError(Exception):
    """Training could not run or did not produce a model; the message says why."""


def train(
    export_dir: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    *,
    max_steps: int | None = None,
    eval_frequency: int | None = None,
) -> dict[str, Any]:
    """Train the export's config on its train/dev DocBins; return the best scores.

    ``max_steps`` and ``eval_frequency`` override the config's
    ``training.*`` settings (None keeps the config's). spaCy writes
    ``model-best`` and ``model-last`` into ``output_dir`` and logs progress to
    stdout. Returns :func:`read_scores` of ``model-best``. Raises
    ``TrainingError`` when an export file is missing or spaCy stops
    (invalid config, no training data).
    """
    from spacy.cli.train import train as spacy_train

    export_dir, output_dir = Path(export_dir), Path(output_dir)
    # train.spacy and dev.spacy are DocBin files, or folders of shards (a large export).
    missing = [
        name
        for name in EXPORT_FILES
        if not ((export_dir / name).is_file() or (name != "config.cfg" and (export_dir / name).is_dir()))
    ]
    if missing:
        raise TrainingError(f"{export_dir} is not an export: {', '.join(missing)} missing")
    overrides: dict[str, Any] = {
        "paths.train": str(export_dir / "train.spacy"),
        "paths.dev": str(export_dir / "dev.spacy"),
    }
    if max_steps is not None:
        overrides["training.max_steps"] = max_steps
    if eval_frequency is not None:
        overrides["training.eval_frequency"] = eval_frequency
    try:
        spacy_train(export_dir / "config.cfg", output_dir, use_gpu=-1, overrides=overrides)
    except SystemExit as stop:  # spaCy's CLI helpers exit on a bad config
        raise TrainingError(f"spaCy stopped training (exit {stop.code}); see its output above") from stop
    return read_scores(output_dir / "model-best")


def read_scores(model_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Scores of a trained pipeline, from its ``meta.json``.

    Returns ``{"model": path, "task": "ner"|"spancat", "overall": {"p", "r",
    "f"}, "per_label": {LABEL: {"p", "r", "f"}}}``, values in 0..1 as spaCy
    reports them on the dev set; a label absent from dev has no entry.
    """
    model_dir = Path(model_dir)
    meta_path = model_dir / "meta.json"
    if not meta_path.is_file():
        raise TrainingError(f"no trained model at {model_dir}: meta.json missing")
    performance = json.loads(meta_path.read_text(encoding="utf-8")).get("performance", {})
    for task, prefix in (("ner", "ents"), ("spancat", "spans_sc")):
        if f"{prefix}_f" in performance:
            per_type = performance.get(f"{prefix}_per_type") or {}
            return {
                "model": str(model_dir),
                "task": task,
                "overall": {k: performance.get(f"{prefix}_{k}") for k in ("p", "r", "f")},
                "per_label": {
                    label: {k: scores.get(k) for k in ("p", "r", "f")} for label, scores in sorted(per_type.items())
                },
            }
    raise TrainingError(f"{meta_path} has no ner or spancat scores")


def load_pipeline(path: str | os.PathLike[str]) -> Language:
    """Load a trained pipeline directory (e.g. ``output_dir/model-best``)."""
    import spacy

    return spacy.load(Path(path))


def predict_spans(nlp: Language, text: str) -> list[SpanRecord]:
    """Spans the pipeline finds in ``text``, as suggestions.

    Uses the spancat component's span group when the pipeline has one, else
    ``doc.ents``. Offsets are code points into ``text``, end exclusive.
    """
    return [span for span, _ in predict_scored_spans(nlp, text)]


def predict_scored_spans(nlp: Language, text: str) -> list[tuple[SpanRecord, float | None]]:
    """:func:`predict_spans` with each span's confidence, sorted by offset and label.

    The confidence is spancat's score for the span's label (0 to 1, the
    group's ``attrs["scores"]``); ``None`` where the pipeline gives none
    (``ner``'s entities). A span predicted twice keeps its higher score.
    """
    doc = nlp(text)
    spancat = next((name for name in nlp.pipe_names if nlp.get_pipe_meta(name).factory == "spancat"), None)
    if spancat:
        group = doc.spans.get(nlp.get_pipe(spancat).key, [])  # type: ignore[attr-defined]  # a SpanCategorizer has key
        scores = getattr(group, "attrs", {}).get("scores")
        scored = [
            (s, float(scores[i]) if scores is not None and i < len(scores) else None) for i, s in enumerate(group)
        ]
    else:
        scored = [(s, None) for s in doc.ents]
    best: dict[tuple[int, int, str], float | None] = {}
    for span, score in scored:
        key = (span.start_char, span.end_char, span.label_)
        if key not in best or (score is not None and (best[key] is None or score > best[key])):  # type: ignore[operator]
            best[key] = score
    return [
        (SpanRecord(start, end, label, suggested=True), best[(start, end, label)]) for start, end, label in sorted(best)
    ]
