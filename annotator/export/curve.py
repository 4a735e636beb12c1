"""The learning curve: train on growing shares of an export's training Docs and say whether F still rises.

In the spirit of Prodigy's ``train-curve``: the same config, seed and dev split
for every share, and the shares nested (the 25 % are inside the 50 %), so that
the only thing that changes along the curve is how much was labelled. Pure: no
Flask, no database. :func:`curve_verdict` needs no training and reads plain
records, so it can be shown for a curve stored long ago.
"""

from __future__ import annotations

import math
import os
import random
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .training import TrainingError, train

FRACTIONS = (0.25, 0.5, 0.75, 1.0)
FLAT_BELOW = 0.01  # a gain under one F point (of 100) between the last two shares counts as flat


class CurveError(TrainingError):
    """The export has too few training Docs for a curve; the message says how many it needs."""


def nested_subsets(n_docs: int, fractions: Sequence[float] = FRACTIONS, seed: int = 0) -> list[list[int]]:
    """Indices of the training Docs for each fraction, in the order given.

    One shuffle with ``seed``, then a prefix of ``ceil(fraction * n_docs)``
    per fraction: each subset holds every smaller one. Indices are sorted, so
    a subset keeps the export's order. Raises ``CurveError`` when a fraction
    is outside (0, 1], when there are fewer than two Docs per fraction, or
    when two fractions would give subsets of the same size.
    """
    if any(not 0 < f <= 1 for f in fractions):
        raise CurveError(f"fractions must be in (0, 1]: {list(fractions)}")
    order = list(range(n_docs))
    random.Random(seed).shuffle(order)
    sizes = [math.ceil(f * n_docs) for f in fractions]
    if n_docs < 2 * len(fractions) or len(set(sizes)) < len(sizes) or min(sizes, default=0) < 1:
        raise CurveError(
            f"The export has {n_docs} training sentences: too few for a curve of {len(fractions)} points; "
            f"label at least {2 * len(fractions)} and train again."
        )
    return [sorted(order[:size]) for size in sizes]


def _docbin_paths(path: Path) -> list[Path]:
    """A DocBin file, or the sorted shards of a folder (a large export)."""
    return sorted(path.glob("*.spacy")) if path.is_dir() else [path]


def write_subsets(
    export_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    fractions: Sequence[float] = FRACTIONS,
    seed: int = 0,
) -> list[tuple[float, Path, int]]:
    """Write ``out_dir/<percent>/train.spacy`` per fraction; ``[(fraction, path, n_docs)]``.

    The dev split and config stay the export's own (training reads them from
    ``export_dir``); only the training Docs are subset, by :func:`nested_subsets`.
    """
    from spacy.tokens import DocBin
    from spacy.vocab import Vocab

    vocab = Vocab()
    docs = [
        doc
        for part in _docbin_paths(Path(export_dir) / "train.spacy")
        for doc in DocBin().from_disk(part).get_docs(vocab)
    ]
    written = []
    for fraction, indices in zip(fractions, nested_subsets(len(docs), fractions, seed), strict=True):
        folder = Path(out_dir) / f"{round(100 * fraction)}"
        folder.mkdir(parents=True, exist_ok=True)
        DocBin(docs=[docs[i] for i in indices], store_user_data=True).to_disk(folder / "train.spacy")
        written.append((fraction, folder / "train.spacy", len(indices)))
    return written


def learning_curve(
    export_dir: str | os.PathLike[str],
    work_dir: str | os.PathLike[str],
    *,
    fractions: Sequence[float] = FRACTIONS,
    seed: int = 0,
    max_steps: int | None = None,
    eval_frequency: int | None = None,
    full_scores: Mapping[str, Any] | None = None,
    on_point: Callable[[list[dict[str, Any]]], None] | None = None,
) -> list[dict[str, Any]]:
    """Train on each fraction of the export's training Docs; one record per fraction.

    Each record is ``{"fraction", "sentences", "overall": {"p", "r", "f"},
    "per_label": {LABEL: {"p", "r", "f"}}}`` (scores 0..1 on the export's dev
    split, as :func:`annotator.export.training.read_scores`). ``full_scores``
    are the scores of a run on all the training Docs with the same settings,
    used for the fraction 1.0 instead of training it again. ``on_point`` gets
    the records so far after each fraction. The pipelines trained for the
    smaller fractions are removed from ``work_dir`` once scored. Raises
    ``CurveError`` for too small an export, ``TrainingError`` when spaCy stops.
    """
    work_dir = Path(work_dir)
    points: list[dict[str, Any]] = []
    for fraction, train_path, n_docs in write_subsets(export_dir, work_dir, fractions, seed):
        if fraction == 1.0 and full_scores is not None:
            scores: Mapping[str, Any] = full_scores
        else:
            model_dir = train_path.parent / "model"
            scores = train(
                export_dir, model_dir, max_steps=max_steps, eval_frequency=eval_frequency, train_path=train_path
            )
            shutil.rmtree(model_dir, ignore_errors=True)
        points.append(
            {
                "fraction": fraction,
                "sentences": n_docs,
                "overall": dict(scores.get("overall") or {}),
                "per_label": {label: dict(s) for label, s in (scores.get("per_label") or {}).items()},
            }
        )
        if on_point is not None:
            on_point(list(points))
    return points


@dataclass(frozen=True)
class CurveVerdict:
    """Whether the curve still rises, in words.

    ``trend`` is "rising", "flat", "falling" or "unknown"; gains are in F
    (0..1) between the last two points and the first two; ``label_gains`` the
    last segment's gain per label (None where a point has no F for it).
    """

    trend: str
    text: str
    last_gain: float | None
    first_gain: float | None
    label_gains: dict[str, float | None]


def _f(scores: Mapping[str, Any] | None) -> float | None:
    value = (scores or {}).get("f")
    return None if value is None else float(value)


def _gain(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else after - before


def _pct(fraction: float) -> str:
    return f"{100 * fraction:g} %"


def _points(gain: float) -> str:
    return f"{100 * gain:+.1f} F"


def curve_verdict(points: Sequence[Mapping[str, Any]]) -> CurveVerdict:
    """Say whether F on dev still rises at the end of the curve, as ``train-curve`` does.

    Compares the last segment's overall gain with :data:`FLAT_BELOW` (rising,
    flat or falling) and with the first segment's (slowing down or not), then
    names the label that gains most in the last segment. ``points`` are
    :func:`learning_curve` records, in increasing fraction.
    """
    points = sorted(points, key=lambda p: p["fraction"])
    if len(points) < 2 or _f(points[-1].get("overall")) is None or _f(points[-2].get("overall")) is None:
        return CurveVerdict("unknown", "Not enough scored points to tell whether the curve rises.", None, None, {})
    last, before = points[-1], points[-2]
    if not _f(last["overall"]):
        return CurveVerdict(
            "unknown",
            "The whole training set scored F 0 on dev: the pipeline learnt nothing, so the curve cannot tell "
            "whether more labelling helps; train with more steps first.",
            None,
            None,
            {},
        )
    segment = f"from {_pct(before['fraction'])} to {_pct(last['fraction'])}"
    last_gain = _gain(_f(before["overall"]), _f(last["overall"]))
    first_gain = _gain(_f(points[0].get("overall")), _f(points[1].get("overall")))
    assert last_gain is not None
    # The best share before the last: a curve that ends flat well below an earlier point has fallen.
    best = max((p for p in points[:-1] if _f(p.get("overall")) is not None), key=lambda p: _f(p["overall"]) or 0.0)
    below_best = (_f(last["overall"]) or 0.0) - (_f(best["overall"]) or 0.0)
    if abs(last_gain) < FLAT_BELOW and below_best <= -FLAT_BELOW:
        trend = "falling"
        text = (
            f"Below its best ({_points(below_best)} against {_pct(best['fraction'])} of the training set): more of "
            "the same labels may not help; check the labels for disagreement or train with more steps"
        )
    elif last_gain >= FLAT_BELOW:
        trend = "rising"
        text = f"Still rising: more labelling should help ({_points(last_gain)} {segment})"
        if first_gain is not None and len(points) > 2 and last_gain < first_gain / 2:
            text += f", though less than at first ({_points(first_gain)} in the first step)"
    elif last_gain <= -FLAT_BELOW:
        trend = "falling"
        text = (
            f"Falling at the end ({_points(last_gain)} {segment}): more of the same labels may not help; "
            "check the labels for disagreement or train with more steps"
        )
    else:
        trend = "flat"
        text = (
            f"Flat: more labelling of the same kind is unlikely to help much ({_points(last_gain)} {segment}); "
            "label harder or rarer cases instead"
        )
    labels = sorted(set(last.get("per_label") or {}) | set(before.get("per_label") or {}))
    label_gains = {
        label: _gain(_f((before.get("per_label") or {}).get(label)), _f((last.get("per_label") or {}).get(label)))
        for label in labels
    }
    known = {label: gain for label, gain in label_gains.items() if gain is not None}
    if known:
        best = max(sorted(known), key=lambda label: known[label])
        if known[best] >= FLAT_BELOW:
            text += f". {best} gains most ({_points(known[best])}): label more of it"
    return CurveVerdict(trend, text + ".", last_gain, first_gain, label_gains)
