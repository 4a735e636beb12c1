"""Agreement of a whole project, from plain records: the numbers behind the review dashboard.

``agreement_report`` pools a project's annotations into pairwise span F1,
token-level Cohen's kappa, Fleiss' kappa, Krippendorff's alpha, agreement on
normalised values, pairwise F1 on incidents (``incident_agreement``), per-annotator scores against gold and a token confusion
table, with percentile bootstrap intervals that resample sentences.
Only annotations with status "done" or "flagged" count; "skipped" ones are
left out. Every figure is a float in the units of ``annotator.metrics.coefficients``
(higher = more agreement) or None when undefined, and comes with the number
of sentences, spans or tokens it rests on. Vectorised with numpy so that
100,000 sentences x 3 annotators take seconds; memory grows with annotators
x tokens. ``disagreements`` (from ``annotator.metrics.disagreements``) lists the
conflicts sentence by sentence.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import combinations
from typing import Any

import numpy as np

from ..records import AnnotationRecord, GoldRecord, SentenceRecord
from .coefficients import percentile_interval
from .disagreements import COUNTED, disagreements
from .gold_scores import annotator_vs_gold
from .incident_agreement import incident_agreement
from .span_agreement import matched_count
from .summary import pair_f1, pair_key, pairs_mean
from .token_agreement import token_tables

__all__ = ["agreement_report", "disagreements"]

CONFIDENCE = 0.95


def agreement_report(
    sentences: Sequence[SentenceRecord],
    annotations: Iterable[AnnotationRecord],
    gold: Iterable[GoldRecord] | None = None,
    labels: Sequence[str] | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Every agreement figure of a project as a JSON-ready dict.

    ``labels`` fixes the labels reported and their order (spans of other
    labels are ignored); None takes every label seen. Pairs are "A|B" with
    the names sorted (``summary.pair_key``: a ``|`` in a name is escaped). ``gold`` (annotator vs gold) is
    ``gold_scores.annotator_vs_gold``: adjudicated gold, else the
    leave-one-out majority of the other annotators, never gold made by the
    annotator's own vote. ``n_resamples`` bootstrap resamples of the sentences with at
    least two counted annotators give 95% intervals ``[low, high]`` (None
    when the figure is undefined, or undefined on over half the resamples).
    Raises ValueError for an annotation of an unknown sentence or two
    annotations of one sentence by one annotator.
    """
    sentences = list(sentences)
    index = {s.id: i for i, s in enumerate(sentences)}
    progress: dict[str, Counter[str]] = {}
    records: list[dict[str, AnnotationRecord]] = [{} for _ in sentences]
    for a in annotations:
        if a.sentence_id not in index:
            raise ValueError(f"annotation by {a.annotator!r} of sentence {a.sentence_id}, which is not in the project")
        progress.setdefault(a.annotator, Counter())[a.status] += 1
        if a.status in COUNTED:
            held = records[index[a.sentence_id]]
            if a.annotator in held:
                raise ValueError(f"sentence {a.sentence_id} has two annotations by {a.annotator!r}")
            held[a.annotator] = a
    if labels is None:
        labels = sorted({s.label for held in records for a in held.values() for s in a.spans})
    label_at = {label: j for j, label in enumerate(labels)}
    votes = [{name: _Vote(a, label_at) for name, a in held.items()} for held in records]
    for voted in votes:
        for name, vote in voted.items():
            progress[name]["spans"] += len(vote.keys)
    labels = list(labels)
    annotators = sorted({name for held in votes for name in held})
    pool = np.array([i for i, held in enumerate(votes) if len(held) >= 2], dtype=np.int64)

    spans = _span_tables(votes, labels, pool)
    tokens = token_tables(sentences, votes, annotators, labels)
    rng = np.random.default_rng(seed)
    f1_draws, alpha_draws = _bootstrap(spans, tokens["alpha_stats"][pool], len(labels), n_resamples, rng)
    span_f1 = _span_f1_section(spans, labels, n_resamples)
    span_f1["ci"] = _intervals(f1_draws, labels, span_f1)
    alpha = tokens["alpha"]
    alpha.update(ci=_intervals(alpha_draws, labels, alpha), confidence=CONFIDENCE, resamples=n_resamples)
    return {
        "sentences": len(sentences),
        "annotated": sum(1 for held in votes if held),
        "multi_annotated": int(pool.size),
        "labels": labels,
        "annotators": annotators,
        "progress": {
            name: {key: int(c[key]) for key in ("done", "flagged", "skipped", "spans")}
            for name, c in sorted(progress.items())
        },
        "span_f1": span_f1,
        "incident_f1": incident_agreement(a for held in records for a in held.values()),
        "cohen_kappa": tokens["cohen"],
        "fleiss_kappa": tokens["fleiss"],
        "krippendorff_alpha": alpha,
        "value_agreement": spans["values"],
        "gold": annotator_vs_gold(sentences, [a for held in records for a in held.values()], gold or (), labels),
        "confusion": tokens["confusion"],
    }


# --- spans -------------------------------------------------------------------------------


class _Vote:
    """One counted annotation: its distinct span keys (spans of other labels dropped), per-label counts, values."""

    __slots__ = ("record", "keys", "keyset", "counts", "values")

    def __init__(self, record: AnnotationRecord, label_at: dict[str, int]):
        self.record = record
        values = {(s.start_char, s.end_char, s.label): s.value for s in reversed(record.spans) if s.label in label_at}
        self.values = values  # reversed: a span given twice keeps its first value
        self.keys = tuple(sorted(values))
        self.keyset = frozenset(values)
        counts = [0] * len(label_at)
        for key in self.keys:
            counts[label_at[key[2]]] += 1
        self.counts = counts


def _span_tables(votes, labels, pool) -> dict[str, Any]:
    """Per pair: the pooled sentences it shares and per-label (matched, marked) counts there."""
    label_at = {label: j for j, label in enumerate(labels)}
    n_labels = len(labels)
    rows: dict[tuple[str, str], tuple[list, list, list, list]] = {}
    same, compared = [0] * n_labels, [0] * n_labels
    for position, i in enumerate(pool.tolist()):
        held = votes[i]
        for a, b in combinations(sorted(held), 2):
            va, vb = held[a], held[b]
            marked = [x + y for x, y in zip(va.counts, vb.counts)]
            if va.keys == vb.keys:
                strict = partial = va.counts
                common = va.keys
            else:
                common = va.keyset & vb.keyset
                strict = [0] * n_labels
                for key in common:
                    strict[label_at[key[2]]] += 1
                partial = list(strict)
                for j, label in enumerate(labels):
                    # Partial matching can only add where some spans of both are left unmatched.
                    if strict[j] < min(va.counts[j], vb.counts[j]):
                        partial[j] = matched_count(
                            [k for k in va.keys if k[2] == label], [k for k in vb.keys if k[2] == label], "partial"
                        )
            for key in common:
                value_a, value_b = va.values[key], vb.values[key]
                if value_a is not None or value_b is not None:
                    compared[label_at[key[2]]] += 1
                    same[label_at[key[2]]] += value_a == value_b
            table = rows.setdefault((a, b), ([], [], [], []))
            table[0].append(position)
            table[1].extend(strict)
            table[2].extend(partial)
            table[3].extend(marked)
    pairs = {
        pair: {
            "at": np.array(at, dtype=np.int64),
            "strict": np.array(strict, dtype=float).reshape(-1, n_labels),
            "partial": np.array(partial, dtype=float).reshape(-1, n_labels),
            "marked": np.array(marked, dtype=float).reshape(-1, n_labels),
        }
        for pair, (at, strict, partial, marked) in rows.items()
    }
    values = {
        "overall": _ratio(sum(same), sum(compared)),
        "by_label": {label: _ratio(same[j], compared[j]) for j, label in enumerate(labels)},
        "support": {
            "overall": {"spans": sum(compared)},
            "by_label": {label: {"spans": compared[j]} for j, label in enumerate(labels)},
        },
        "note": "strictly matching span pairs where at least one annotator gave a value; fraction with the same value",
    }
    return {"pairs": pairs, "values": values}


def _ratio(numerator: float, denominator: float) -> float | None:
    return float(numerator / denominator) if denominator else None


def _span_f1_section(spans, labels, n_resamples) -> dict[str, Any]:
    section: dict[str, Any] = {}
    for match in ("strict", "partial"):
        pairs = {}
        for (a, b), t in spans["pairs"].items():
            matched, marked = t[match].sum(axis=0), t["marked"].sum(axis=0)
            pairs[pair_key(a, b)] = {
                **pair_f1(dict(zip(labels, matched.tolist())), dict(zip(labels, marked.tolist())), labels),
                "sentences": int(t["at"].size),
                "spans": int(marked.sum()),
            }
        section[match] = {**pairs_mean(pairs, labels), "pairs": pairs}
    strict = section.pop("strict")
    shared = set()
    for t in spans["pairs"].values():
        shared.update(t["at"].tolist())
    by_label_support = {}
    for j, label in enumerate(labels):
        at = set()
        marked = 0
        for t in spans["pairs"].values():
            has = t["marked"][:, j] > 0
            at.update(t["at"][has].tolist())
            marked += int(t["marked"][:, j].sum())
        by_label_support[label] = {"sentences": len(at), "spans": marked}
    return {
        **strict,
        "match": "strict: same start, end and label; pooled over the sentences a pair shares, then the mean over pairs",
        "support": {
            "overall": {
                "sentences": len(shared),
                "pairs": len(strict["pairs"]),
                "spans": sum(p["spans"] for p in strict["pairs"].values()),
            },
            "by_label": by_label_support,
        },
        "ci": None,  # filled in by the bootstrap
        "confidence": CONFIDENCE,
        "resamples": n_resamples,
        "partial": section["partial"],
    }


# --- bootstrap ---------------------------------------------------------------------------


def _bootstrap(spans, alpha_stats, n_labels, n_resamples, rng):
    """Mean pairwise strict F1 and alpha on resampled pooled sentences: two resamples x (1 + labels) arrays.

    The vectorised form of ``pair_f1`` and ``nominal_alpha`` over sentence weights; ``percentile_interval``
    turns the estimates into intervals.

    Each resample is a vector of how often each sentence was drawn; the
    per-sentence counts are summed with one matrix product per pair, so no
    record is looked at again. NaN marks an undefined estimate.
    """
    size = alpha_stats.shape[0]
    k = n_labels + 1
    f1 = np.full((n_resamples, 1 + n_labels), np.nan)
    alpha = np.full((n_resamples, 1 + n_labels), np.nan)
    chunk = max(1, 2_000_000 // max(size, 1))
    # sums x sentences, contiguous: the fast layout for (sums x sentences) @ (sentences x resamples).
    pair_sums = [
        (t["at"], np.ascontiguousarray(np.hstack([t["strict"], t["marked"]]).T)) for t in spans["pairs"].values()
    ]
    alpha_sums = np.ascontiguousarray(alpha_stats.T)
    with np.errstate(divide="ignore", invalid="ignore"):
        for done in range(0, n_resamples if size else 0, chunk):
            rows = min(chunk, n_resamples - done)
            draws = rng.integers(0, size, size=(rows, size)) * rows + np.arange(rows)[:, None]
            weights = np.bincount(draws.ravel(), minlength=rows * size).reshape(size, rows).astype(float)
            per_pair = []
            for at, sums in pair_sums:
                # A pair that shares every pooled sentence needs no row selection.
                totals = sums @ (weights if at.size == size else weights[at])
                matched, marked = totals[:n_labels], totals[n_labels:]
                per_pair.append(np.vstack([2 * matched.sum(axis=0) / marked.sum(axis=0), 2 * matched / marked]).T)
            if per_pair:
                stacked = np.stack(per_pair)  # pairs x resamples x (1 + labels)
                defined = (~np.isnan(stacked)).sum(axis=0)
                f1[done : done + rows] = np.where(defined > 0, np.nansum(stacked, axis=0) / defined, np.nan)
            totals = (alpha_sums @ weights).T
            cats = totals[:, 1 : 1 + k]
            n = cats.sum(axis=1)
            between = n * n - (cats**2).sum(axis=1)
            alpha[done : done + rows, 0] = 1 - (n - 1) * totals[:, 0] / np.where(between > 0, between, np.nan)
            for j in range(n_labels):
                yes = cats[:, j + 1]
                between = 2 * yes * (n - yes)
                alpha[done : done + rows, j + 1] = 1 - (n - 1) * totals[:, 1 + k + j] / np.where(
                    between > 0, between, np.nan
                )
    return f1, alpha


def _intervals(estimates: np.ndarray, labels: list[str], point: dict[str, Any]) -> dict[str, Any]:
    """[low, high] per figure; None where the point estimate is None or over half the resamples are undefined."""

    def one(column: np.ndarray, value: float | None) -> list[float] | None:
        interval = None if value is None else percentile_interval(column, CONFIDENCE)
        return None if interval is None else list(interval)

    return {
        "overall": one(estimates[:, 0], point["overall"]),
        "by_label": {label: one(estimates[:, j + 1], point["by_label"][label]) for j, label in enumerate(labels)},
    }
