"""Token-level agreement of a project: Cohen's and Fleiss' kappa, Krippendorff's alpha, confusion.

Spans are projected onto the sentences' tokens as ``agreement.token_labels``
does (a token takes a span's label only when wholly inside it; the first
span in (start, end, label) order wins), for all annotators at once, into
one annotators x tokens code matrix built with numpy: -1 where the
annotator did not annotate the sentence, 0 for no span, j + 1 for
``labels[j]``. The coefficients are those of ``annotator.metrics.coefficients`` (its table and count forms) on
the same labels (tested), computed from contingency tables and per-token
category counts so that millions of tokens take well under a second.
Memory grows with annotators x tokens.
"""

from __future__ import annotations

from collections import Counter
from itertools import chain, combinations
from typing import Any

import numpy as np

from .coefficients import cohen_kappa_table, fleiss_kappa_counts, nominal_alpha
from .summary import pair_key, pairs_mean

# --- tokens ------------------------------------------------------------------------------


def _expand(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All indices in the ranges [starts, ends), and which range each came from."""
    lengths = np.maximum(ends - starts, 0)
    which = np.repeat(np.arange(starts.size), lengths)
    before = np.cumsum(lengths) - lengths
    return np.arange(int(lengths.sum())) - np.repeat(before, lengths) + np.repeat(starts, lengths), which


def _token_matrix(sentences, votes, annotators, labels):
    """annotators x tokens codes (-1 not annotated, 0 no span, j+1 labels[j]) as ``token_labels`` gives them."""
    n_tokens = np.fromiter((len(s.tokens) for s in sentences), dtype=np.int64, count=len(sentences))
    first = np.concatenate([[0], np.cumsum(n_tokens)]).astype(np.int64)
    total = int(first[-1])
    offsets = np.fromiter(
        chain.from_iterable(chain.from_iterable(s.tokens for s in sentences)), dtype=np.int64, count=2 * total
    )
    sentence_of = np.repeat(np.arange(len(sentences)), n_tokens)
    width = max([len(s.text) for s in sentences] + [int(offsets.max()) if total else 0]) + 1
    coder = {name: j for j, name in enumerate(annotators)}
    code = {label: j + 1 for j, label in enumerate(labels)}
    rows, at, starts, ends, codes = [], [], [], [], []
    done_coder, done_sentence = [], []
    for i, held in enumerate(votes):
        for name, vote in held.items():
            done_coder.append(coder[name])
            done_sentence.append(i)
            for start, end, label in vote.keys:
                rows.append(coder[name])
                at.append(i)
                starts.append(start)
                ends.append(end)
                codes.append(code[label])
    matrix = np.full((len(annotators), total), -1, dtype=np.int16)
    done_sentence = np.array(done_sentence, dtype=np.int64)
    idx, which = _expand(first[done_sentence], first[done_sentence + 1])
    matrix[np.array(done_coder, dtype=np.int64)[which], idx] = 0
    if rows:
        # Global coordinates keep sentences apart; a token gets a span's label only if wholly inside it.
        base = sentence_of * width
        token_start, token_end = offsets[0::2] + base, offsets[1::2] + base
        at = np.array(at, dtype=np.int64) * width
        lo = np.searchsorted(token_start, at + np.array(starts), side="left")
        # A span running past its sentence (bad data) must not reach into the next one.
        hi = np.searchsorted(token_end, at + np.minimum(np.array(ends), width - 1), side="right")
        idx, which = _expand(lo, hi)
        row = np.array(rows, dtype=np.int64)[which]
        # Spans come sorted within an annotation; the first one covering a token wins.
        _, first_hit = np.unique(row * max(total, 1) + idx, return_index=True)
        matrix[row[first_hit], idx[first_hit]] = np.array(codes, dtype=np.int16)[which[first_hit]]
    return matrix, sentence_of


def _binary(table: np.ndarray, j: int) -> np.ndarray:
    """The 2x2 label-vs-rest table of category j."""
    both = table[j, j]
    row, col = table[j].sum(), table[:, j].sum()
    return np.array([[both, row - both], [col - both, table.sum() - row - col + both]])


def token_tables(sentences, votes, annotators, labels) -> dict[str, Any]:
    """``cohen``, ``fleiss``, ``alpha`` and ``confusion`` report sections, and ``alpha_stats``.

    ``votes[i]`` maps annotator name -> an object with ``keys`` (sorted
    (start, end, label) triples) for ``sentences[i]``. ``alpha_stats`` has
    one row per sentence: summed within-token disagreement, pairable value
    counts per category, and per label its binary within-token disagreement,
    so a bootstrap can reweight sentences without looking at tokens again.
    """
    matrix, sentence_of = _token_matrix(sentences, votes, annotators, labels)
    k = len(labels) + 1
    n_sentences = len(sentences)
    # Cohen's kappa and the confusion table, pair by pair.
    pairs: dict[str, dict[str, Any]] = {}
    confusion = np.zeros((k, k), dtype=np.int64)
    for a, b in combinations(range(len(annotators)), 2):
        both = (matrix[a] >= 0) & (matrix[b] >= 0)
        if not both.any():
            continue
        table = np.bincount(matrix[a][both].astype(np.int64) * k + matrix[b][both], minlength=k * k).reshape(k, k)
        confusion += table
        pairs[pair_key(annotators[a], annotators[b])] = {
            "overall": cohen_kappa_table(table),
            "by_label": {label: cohen_kappa_table(_binary(table, j + 1)) for j, label in enumerate(labels)},
            "tokens": int(both.sum()),
            "sentences": int(np.unique(sentence_of[both]).size),
        }
    cohen = {
        **pairs_mean(pairs, labels),
        "pairs": pairs,
        "support": {"tokens": sum(p["tokens"] for p in pairs.values()), "pairs": len(pairs)},
        "note": "token level, mean over pairs; per label: label vs not",
    }
    # Category counts per token: the units of Fleiss' kappa and Krippendorff's alpha.
    present = matrix >= 0
    token_idx = np.nonzero(present)[1]
    counts = np.bincount(token_idx * k + matrix[present], minlength=matrix.shape[1] * k).reshape(-1, k).astype(float)
    raters = counts.sum(axis=1)
    coders = np.array([len(held) for held in votes])
    sizes = Counter(int(c) for c in coders if c >= 2)
    fleiss: dict[str, Any] = {
        "overall": None,
        "by_label": dict.fromkeys(labels),
        "annotators_per_sentence": None,
        "sentences": 0,
        "tokens": 0,
    }
    if sizes:
        r = max(sizes, key=lambda c: (sizes[c], c))
        chosen = coders[sentence_of] == r if sentence_of.size else np.zeros(0, dtype=bool)
        units = counts[chosen]
        fleiss = {
            "overall": fleiss_kappa_counts(units),
            "by_label": {
                label: fleiss_kappa_counts(np.stack([units[:, j + 1], r - units[:, j + 1]], axis=1))
                for j, label in enumerate(labels)
            },
            "annotators_per_sentence": r,
            "sentences": sizes[r],
            "tokens": int(units.shape[0]),
            "note": f"tokens of the {sizes[r]} sentences with exactly {r} annotators (the most common number)",
        }
    # Krippendorff's alpha, nominal: per-sentence sums so the bootstrap only reweights sentences.
    pairable = raters >= 2
    m = raters[pairable]
    c = counts[pairable]
    at = sentence_of[pairable]
    cols = [np.bincount(at, weights=(m * m - (c**2).sum(axis=1)) / (m - 1), minlength=n_sentences)]
    cols += [np.bincount(at, weights=c[:, j], minlength=n_sentences) for j in range(k)]
    for j in range(1, k):
        cols.append(np.bincount(at, weights=2 * c[:, j] * (m - c[:, j]) / (m - 1), minlength=n_sentences))
    stats = np.stack(cols, axis=1) if n_sentences else np.zeros((0, 1 + k + len(labels)))
    totals = stats.sum(axis=0)
    alpha = {
        "overall": nominal_alpha(totals[0], totals[1 : 1 + k]),
        "by_label": {
            label: nominal_alpha(totals[1 + k + j], np.array([totals[2 + j], totals[1 : 1 + k].sum() - totals[2 + j]]))
            for j, label in enumerate(labels)
        },
        "level": "nominal",
        "support": {"tokens": int(pairable.sum()), "values": int(m.sum()), "sentences": int(np.unique(at).size)},
        "note": "tokens as units, annotators as coders, missing annotators allowed; per label: label vs not",
    }
    names = labels + [None]
    order = list(range(1, k)) + [0]
    return {
        "cohen": cohen,
        "fleiss": fleiss,
        "alpha": alpha,
        "alpha_stats": stats,
        "confusion": {
            "labels": names,
            "matrix": confusion[np.ix_(order, order)].tolist(),
            "tokens": int(confusion.sum()),
            "note": "token pairs of every annotator pair; rows: the annotator whose name sorts first; null: no span",
        },
    }
