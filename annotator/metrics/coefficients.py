"""Inter-annotator agreement on plain records; imports numpy only.

Chance-corrected coefficients (Cohen's kappa, Fleiss' kappa, Krippendorff's
alpha) on label sequences, span agreement between annotators (pairwise F1,
label confusion), token projection of spans and a bootstrap interval. Every
coefficient is a float, higher means more agreement, and is None when its
formula is undefined for the data (no items, no variation); 0 means agreement
at chance level, never "could not compute". Spans are ``(start, end, label)``
with ``end`` exclusive, or ``SpanRecord``-like objects.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from itertools import combinations
from typing import Any

import numpy as np

from .span_agreement import confusion, pairwise_span_f1, token_labels
from .span_metrics import span_scores

__all__ = [
    "bootstrap_ci",
    "cohen_kappa",
    "cohen_kappa_table",
    "confusion",
    "fleiss_kappa",
    "fleiss_kappa_counts",
    "krippendorff_alpha",
    "nominal_alpha",
    "percentile_interval",
    "pairwise_span_f1",
    "span_scores",
    "token_labels",
]

LEVELS = ("nominal", "ordinal", "interval", "ratio")


def cohen_kappa(labels_a: Sequence[Hashable], labels_b: Sequence[Hashable], weights: str | None = None) -> float | None:
    """Cohen's kappa between two raters' labels for the same items, in order.

    ``weights``: None (any disagreement counts 1), "linear" or "quadratic"
    (disagreement grows with the distance between the labels' ranks in the
    sorted union of observed labels, as sklearn's ``cohen_kappa_score``; use
    for ordered labels). Returns a value in [-1, 1], 1 = perfect agreement,
    0 = chance; None for no items or when chance disagreement is 0 (both
    raters used one and the same label). Raises ValueError for unequal
    lengths or an unknown ``weights``.
    """
    a, b = list(labels_a), list(labels_b)
    if len(a) != len(b):
        raise ValueError(f"cohen_kappa needs one label per item from each rater; got {len(a)} and {len(b)} labels")
    if weights not in (None, "linear", "quadratic"):
        raise ValueError(f'weights must be None, "linear" or "quadratic", not {weights!r}')
    if not a:
        return None
    index = {label: i for i, label in enumerate(sorted(set(a) | set(b)))}  # type: ignore[type-var]  # labels of one kind sort
    k = len(index)
    codes_a = np.fromiter((index[x] for x in a), dtype=np.intp, count=len(a))
    codes_b = np.fromiter((index[x] for x in b), dtype=np.intp, count=len(b))
    return cohen_kappa_table(np.bincount(codes_a * k + codes_b, minlength=k * k).reshape(k, k), weights)


def cohen_kappa_table(table: np.ndarray, weights: str | None = None) -> float | None:
    """Cohen's kappa from a square contingency table: ``table[i][j]`` = items rater A put in category i
    and rater B in j, categories in rank order. ``weights`` and the result as ``cohen_kappa``; None for
    an empty table."""
    table = np.asarray(table)
    n = table.sum()
    if n == 0:
        return None
    k = table.shape[0]
    observed = table / n
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n**2
    distance = np.abs(np.subtract.outer(np.arange(k), np.arange(k))).astype(float)
    weight = {None: distance > 0, "linear": distance, "quadratic": distance**2}[weights]
    chance = float((weight * expected).sum())
    if chance == 0:
        return None
    return float(1 - (weight * observed).sum() / chance)


def fleiss_kappa(table: Sequence[Sequence[int]]) -> float | None:
    """Fleiss' kappa from ``table[item][category]`` = raters who chose it.

    Every item must have the same number of raters. Returns a value at most 1,
    1 = perfect agreement, 0 = chance; None for no items, fewer than 2 raters
    per item, or when all ratings fall in one category (chance agreement 1).
    Raises ValueError for ragged rows, negative or fractional counts, or
    items with different numbers of raters.
    """
    try:
        rows = [list(row) for row in table]
    except TypeError:
        raise ValueError("fleiss_kappa needs a table with one row of category counts per item") from None
    if not rows:
        return None
    widths = sorted({len(row) for row in rows})
    if len(widths) > 1 or widths[0] == 0:
        raise ValueError(
            f"fleiss_kappa needs the same number of categories in every row; found rows of length {widths}"
        )
    counts = np.asarray(rows, dtype=float)
    if (counts < 0).any() or (counts != np.round(counts)).any():
        raise ValueError("fleiss_kappa counts must be non-negative whole numbers of raters")
    raters = counts.sum(axis=1)
    uneven = np.flatnonzero(raters != raters[0])
    if uneven.size:
        i = int(uneven[0])
        raise ValueError(
            f"fleiss_kappa needs the same number of raters for every item; "
            f"item 0 has {raters[0]:g} ratings but item {i} has {raters[i]:g}"
        )
    return fleiss_kappa_counts(counts)


def fleiss_kappa_counts(counts: np.ndarray) -> float | None:
    """Fleiss' kappa from an items x categories array of rater counts, every row with the same total
    (unchecked: ``fleiss_kappa`` checks its table, then calls this). None as ``fleiss_kappa``."""
    if counts.shape[0] == 0:
        return None
    n = counts[0].sum()
    if n < 2:
        return None
    shares = counts.sum(axis=0) / counts.sum()
    per_item = ((counts.astype(float) ** 2).sum(axis=1) - n) / (n * (n - 1))
    chance = float((shares**2).sum())
    if chance >= 1 - 1e-12:
        return None
    return float((per_item.mean() - chance) / (1 - chance))


def _reliability_matrix(data: Any, level: str) -> np.ndarray:
    """coders x units float array, NaN = missing; nominal labels become codes."""
    try:
        values = np.asarray(data, dtype=float)  # None becomes NaN
    except (TypeError, ValueError):
        values = None
    if values is None:
        rows = [list(row) for row in data]
        if len({len(row) for row in rows}) > 1:
            raise ValueError(
                "krippendorff_alpha needs one value (or None) per unit for every coder; rows differ in length"
            )
        if level != "nominal":
            raise ValueError(f"{level} alpha needs numeric values; use level='nominal' for category labels")
        codes: dict[Any, int] = {}  # label -> arbitrary code; nominal ignores order

        def code(v: Any) -> float:
            missing = v is None or (isinstance(v, float) and np.isnan(v))
            return np.nan if missing else codes.setdefault(v, len(codes))

        values = np.array([[code(v) for v in row] for row in rows], dtype=float).reshape(len(rows), -1)
    if values.size == 0:
        return values.reshape(0, 0)
    if values.ndim != 2:
        raise ValueError(f"krippendorff_alpha needs a coders x units table, got {values.ndim} dimension(s)")
    if np.isinf(values).any():
        raise ValueError("krippendorff_alpha values must be finite; mark missing values with None or NaN")
    return values


def _difference(level: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Krippendorff's squared difference function for a level (ordinal uses ranks)."""
    if level == "nominal":
        return lambda a, b: (a != b).astype(float)
    if level == "ratio":

        def ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            total = a + b
            out = np.zeros(np.broadcast(a, b).shape)
            np.divide(a - b, total, out=out, where=total != 0)  # 0/0: both values 0, no difference
            return out**2

        return ratio
    return lambda a, b: (a - b) ** 2


def krippendorff_alpha(data: Any, level: str = "nominal") -> float | None:
    """Krippendorff's alpha for a coders x units table with missing values.

    ``data`` is a list of lists or an array, one row per coder, one column per
    unit; None or NaN marks a missing value. ``level`` is "nominal",
    "ordinal", "interval" or "ratio" (ratio needs non-negative values).
    Units with fewer than 2 values are not pairable and are dropped. Returns a
    value at most 1, 1 = perfect reliability, 0 = chance; None when no unit is
    pairable or the pairable values do not vary (expected disagreement 0).
    Vectorised: time grows with coders^2 x units (ratio also with distinct
    values^2). Raises ValueError for ragged rows, an unknown level, or
    non-numeric values at a non-nominal level.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    values = _reliability_matrix(data, level)
    if values.size == 0:
        return None
    present = ~np.isnan(values)
    pairable = present.sum(axis=0) >= 2
    values, present = values[:, pairable], present[:, pairable]
    if values.shape[1] == 0:
        return None
    per_unit = present.sum(axis=0)
    n = int(per_unit.sum())
    observed = values[present]
    if level == "ratio" and (observed < 0).any():
        raise ValueError("ratio alpha needs non-negative values (a ratio scale has an absolute zero)")
    distinct, counts = np.unique(observed, return_counts=True)
    if level == "ordinal":
        # Krippendorff's ordinal difference is the squared distance between
        # mid-ranks of the values in the pooled pairable data.
        midranks = np.cumsum(counts) - counts / 2
        values = values.copy()
        values[present] = midranks[np.searchsorted(distinct, observed)]
        distinct = midranks
    diff = _difference(level)

    # Observed: sum over units of 1/(m_u - 1) * sum of differences over ordered
    # value pairs within the unit, one vectorised pass per pair of coders.
    within = 0.0
    for a, b in combinations(range(values.shape[0]), 2):
        both = present[a] & present[b]
        if both.any():
            within += 2 * float((diff(values[a, both], values[b, both]) / (per_unit[both] - 1)).sum())

    # Expected: sum over ordered pairs of values in the pooled pairable data.
    if level == "nominal":
        return nominal_alpha(within, counts.astype(float))
    elif level in ("interval", "ordinal"):
        centred = distinct - (counts * distinct).sum() / n
        between = float(2 * n * (counts * centred**2).sum() - 2 * (counts * centred).sum() ** 2)
    else:
        between = 0.0
        step = max(1, 2**22 // distinct.size)
        for start in range(0, distinct.size, step):
            block = diff(distinct[start : start + step, None], distinct[None, :])
            between += float(counts[start : start + step] @ block @ counts)
    return _alpha(n, within, between)


def nominal_alpha(within: float, value_counts: np.ndarray) -> float | None:
    """Nominal Krippendorff's alpha from its sufficient statistics: ``within``, the observed disagreement
    summed over units (each unit's ordered pairs of unequal values over its number of values minus one), and
    ``value_counts``, the pairable values per category. None as ``krippendorff_alpha``."""
    n = value_counts.sum()
    return _alpha(n, within, float(n * n - (value_counts**2).sum()))


def _alpha(n: float, within: float, between: float) -> float | None:
    return None if between <= 0 else float(1 - (n - 1) * within / between)


def bootstrap_ci(
    items: Iterable[Any],
    statistic: Callable[[list[Any]], float | None],
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of ``statistic`` over resampled ``items``.

    Items (e.g. sentences) are drawn with replacement, as many as given, with
    ``numpy.random.default_rng(seed)``, so a seed gives the same interval.
    Returns ``(low, high)`` in the statistic's units, or None when there are no
    items, the statistic is None on the full sample, or it is undefined (None
    or NaN) on more than half of the resamples; undefined resamples are
    otherwise skipped.
    """
    pool = list(items)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence!r}")
    if n_resamples < 1:
        raise ValueError("n_resamples must be at least 1")
    if not pool or statistic(pool) is None:
        return None
    rng = np.random.default_rng(seed)
    estimates = np.full(n_resamples, np.nan)
    for r in range(n_resamples):
        value = statistic([pool[i] for i in rng.integers(0, len(pool), size=len(pool))])
        if value is not None:
            estimates[r] = value
    return percentile_interval(estimates, confidence)


def percentile_interval(estimates: np.ndarray, confidence: float = 0.95) -> tuple[float, float] | None:
    """``(low, high)``: the central ``confidence`` share of bootstrap estimates, NaN marking an undefined one.

    None when there are no estimates or more than half are undefined; undefined ones are otherwise skipped.
    ``bootstrap_ci`` and the project report's vectorised bootstrap both end here.
    """
    estimates = np.asarray(estimates, dtype=float)
    defined = estimates[~np.isnan(estimates)]
    if estimates.size == 0 or 2 * defined.size < estimates.size:
        return None
    tail = (1 - confidence) / 2
    low, high = np.quantile(defined, [tail, 1 - tail])
    return float(low), float(high)
