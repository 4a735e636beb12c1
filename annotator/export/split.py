"""The train/dev split of an export: whole reports on one side, the dev share as close as it can be."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence

__all__ = ["SPLITS", "dev_reports", "grouped_split"]

SPLITS = ("train", "dev")


def grouped_split(
    sentence_ids_by_report: Mapping[int, Sequence[int]], dev_fraction: float, seed: int
) -> tuple[list[int], list[int]]:
    """Split sentence ids into (train, dev) so that no report is in both.

    Dev gets the set of whole reports whose sentence count is closest to
    ``dev_fraction`` of all sentences (an exact subset-sum, ties to the
    smaller dev); among equally good sets, the reports that come first after
    shuffling with ``random.Random(seed)``. With ``dev_fraction > 0`` and two
    reports or more, both sides get at least one report. Ids keep their order
    within a report; reports go in id order. Memory is about sqrt(reports) x
    dev sentences x 2 bits. Raises ``ValueError`` unless ``0 <= dev_fraction < 1``.
    """
    if not 0 <= dev_fraction < 1:
        raise ValueError(f"dev_fraction must be in [0, 1), not {dev_fraction}")
    reports = [r for r in sorted(sentence_ids_by_report) if sentence_ids_by_report[r]]
    dev = dev_reports(reports, [len(sentence_ids_by_report[r]) for r in reports], dev_fraction, seed)
    train_ids = [i for r in reports if r not in dev for i in sentence_ids_by_report[r]]
    dev_ids = [i for r in reports if r in dev for i in sentence_ids_by_report[r]]
    return train_ids, dev_ids


def dev_reports(reports: Sequence[int], sizes: Sequence[int], dev_fraction: float, seed: int) -> set[int]:
    """The dev reports of ``grouped_split``, from reports in id order and their (non-zero) sizes."""
    order = list(range(len(reports)))
    random.Random(seed).shuffle(order)  # the same permutation as shuffling the reports themselves
    shuffled = [sizes[i] for i in order]
    total = sum(shuffled)
    target = dev_fraction * total
    both_sides = dev_fraction > 0 and len(order) >= 2
    limit = max(int(2 * target) + 1, min(shuffled, default=0))  # above 2*target, 0 is closer
    mask = (1 << limit + 1) - 1
    # Bit s of reachable(k): some subset of the first k reports has s sentences. The walk
    # back needs reachable(k) for every k; keeping one row in `step` and recomputing each
    # stretch of rows on the way back holds ~2 sqrt(reports) rows instead of all of them
    # (all of them: 10 GB at a million sentences).
    step = max(1, math.isqrt(len(order)))
    checkpoints, bits = [1], 1
    for k, size in enumerate(shuffled, start=1):
        bits = (bits | bits << size) & mask
        if k % step == 0:
            checkpoints.append(bits)
    digits = bin(bits)[:1:-1]  # digits[s] == "1": s sentences reachable
    best = min(
        (s for s, d in enumerate(digits) if d == "1" and (not both_sides or 0 < s < total)),
        key=lambda s: (abs(s - target), s),
    )
    dev = set()
    for c in range(len(checkpoints) - 1, -1, -1):
        lo, hi = c * step, min((c + 1) * step, len(order))
        rows = [checkpoints[c]]  # rows[j] = reachable(lo + j)
        for k in range(lo, hi - 1):
            rows.append((rows[-1] | rows[-1] << shuffled[k]) & mask)
        for k in range(hi, lo, -1):  # skip a report whenever the rest reach the sum
            if not rows[k - 1 - lo] >> best & 1:
                dev.add(reports[order[k - 1]])
                best -= shuffled[k - 1]
    return dev
