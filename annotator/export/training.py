"""Train and apply a spaCy pipeline from an export directory, on the CPU.

A thin layer over spaCy's own training API (``spacy.cli.train.train``), so
that a model trained here is the same as one trained with
``python -m spacy train``. Pure: no Flask, no database.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from spacy.language import Language
from spacy.util import registry

from ..records import SpanRecord

EXPORT_FILES = ("config.cfg", "train.spacy", "dev.spacy")
PROGRESS_LOGGER = "annotator.ProgressLogger.v1"
# spaCy's score names per task: f"{prefix}_f", f"{prefix}_per_type", ...
SCORE_PREFIXES = {"ner": "ents", "spancat": "spans_sc"}


class TrainingError(Exception):
    """Training could not run or did not produce a model; the message says why."""


def train(
    export_dir: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    *,
    max_steps: int | None = None,
    eval_frequency: int | None = None,
    progress_file: str | os.PathLike[str] | None = None,
    train_path: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Train the export's config on its train/dev DocBins; return the best scores.

    ``max_steps`` and ``eval_frequency`` override the config's
    ``training.*`` settings (None keeps the config's). spaCy writes
    ``model-best`` and ``model-last`` into ``output_dir`` and logs progress to
    stdout; with ``progress_file``, each evaluation is also appended to it as
    one JSON line (:func:`progress_record`), flushed at once, for a reader
    watching the run (:func:`read_progress`). The saved pipelines' configs keep
    the export's own logger, so they stay plain spaCy configs. ``train_path``
    trains on other Docs than the export's ``train.spacy`` (a subset, for the
    learning curve) with the export's config and dev split.
    Returns :func:`read_scores` of ``model-best``. Raises
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
        "paths.train": str(train_path or export_dir / "train.spacy"),
        "paths.dev": str(export_dir / "dev.spacy"),
    }
    if max_steps is not None:
        overrides["training.max_steps"] = max_steps
    if eval_frequency is not None:
        overrides["training.eval_frequency"] = eval_frequency
    if progress_file is not None:
        overrides["training.logger"] = {"@loggers": PROGRESS_LOGGER, "path": str(progress_file)}
    try:
        spacy_train(export_dir / "config.cfg", output_dir, use_gpu=-1, overrides=overrides)
    except SystemExit as stop:  # spaCy's CLI helpers exit on a bad config
        raise TrainingError(f"spaCy stopped training (exit {stop.code}); see its output above") from stop
    if progress_file is not None:
        _restore_logger(export_dir / "config.cfg", output_dir)
    return read_scores(output_dir / "model-best")


def _restore_logger(export_config: Path, output_dir: Path) -> None:
    """Put the export's ``[training.logger]`` back into the saved pipelines' configs."""
    from spacy.util import load_config

    logger = load_config(export_config)["training"]["logger"]
    for name in ("model-best", "model-last"):
        path = output_dir / name / "config.cfg"
        if path.is_file():
            config = load_config(path)
            config["training"]["logger"] = logger
            config.to_disk(path)


@registry.loggers(PROGRESS_LOGGER)
def progress_logger(path: str) -> Callable[..., tuple[Callable[[dict[str, Any] | None], None], Callable[[], None]]]:
    """spaCy's console table, plus one JSON line per evaluation appended to ``path`` and flushed."""
    console = registry.loggers.get("spacy.ConsoleLogger.v3")(progress_bar=None, console_output=True)

    def setup(nlp: Language, stdout: IO = sys.stdout, stderr: IO = sys.stderr):
        log_console, finalize_console = console(nlp, stdout, stderr)
        stream = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed by finalize

        def log_step(info: dict[str, Any] | None) -> None:
            log_console(info)
            if info is not None:
                stream.write(json.dumps(progress_record(info)) + "\n")
                stream.flush()

        def finalize() -> None:
            finalize_console()
            stream.close()

        return log_step, finalize

    return setup


def progress_record(info: dict[str, Any]) -> dict[str, Any]:
    """One evaluation of spaCy's training loop as a plain record.

    ``{"step", "epoch", "seconds", "loss", "losses": {component: loss}, "score",
    "dev": {"p", "r", "f"}}``: ``loss`` is the sum over the components of the
    loss accumulated since the previous evaluation; ``score`` is the weighted
    dev score spaCy picks the best model by, ``dev`` the span scores on the dev
    split (0..1; None where spaCy gives none).
    """
    losses = {name: float(value) for name, value in (info.get("losses") or {}).items()}
    other = info.get("other_scores") or {}
    prefix = next((p for p in SCORE_PREFIXES.values() if f"{p}_f" in other), None)
    dev = {
        k: (None if prefix is None or other.get(f"{prefix}_{k}") is None else float(other[f"{prefix}_{k}"]))
        for k in ("p", "r", "f")
    }
    return {
        "step": int(info.get("step", 0)),
        "epoch": int(info.get("epoch", 0)),
        "seconds": info.get("seconds"),
        "loss": sum(losses.values()),
        "losses": losses,
        "score": None if info.get("score") is None else float(info["score"]),
        "dev": dev,
    }


def read_progress(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The records :func:`progress_logger` wrote so far; [] if there is no file yet.

    A line still being written (no newline yet, or not JSON) is left for the next read.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    records = []
    for line in text.split("\n")[:-1]:  # the last piece has no newline yet
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return records


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
    for task, prefix in SCORE_PREFIXES.items():
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


def spancat_key(nlp: Language) -> str | None:
    """The span group its spancat component writes, or None: then the pipeline's spans are ``doc.ents``."""
    spancat = next((name for name in nlp.pipe_names if nlp.get_pipe_meta(name).factory == "spancat"), None)
    return nlp.get_pipe(spancat).key if spancat else None  # type: ignore[attr-defined]  # a SpanCategorizer has key


def predict_scored_spans(nlp: Language, text: str) -> list[tuple[SpanRecord, float | None]]:
    """:func:`predict_spans` with each span's confidence, sorted by offset and label.

    The confidence is spancat's score for the span's label (0 to 1, the
    group's ``attrs["scores"]``); ``None`` where the pipeline gives none
    (``ner``'s entities). A span predicted twice keeps its higher score.
    """
    doc = nlp(text)
    group_key = spancat_key(nlp)
    if group_key is not None:
        group = doc.spans.get(group_key, [])
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
