"""Agreement metrics: published worked examples, reference packages, edge cases."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from itertools import combinations
from pathlib import Path

import krippendorff
import numpy as np
import pytest
from nervaluate import Evaluator
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from annotator.metrics.coefficients import (
    bootstrap_ci,
    cohen_kappa,
    confusion,
    fleiss_kappa,
    krippendorff_alpha,
    pairwise_span_f1,
    span_scores,
    token_labels,
)
from annotator.records import AnnotationRecord, SpanRecord

SEEDS = range(6)
LEVELS = ("nominal", "ordinal", "interval", "ratio")
COUNT_KEYS = ("correct", "incorrect", "partial", "missed", "spurious", "possible", "actual")

# Krippendorff, K. (2011). Computing Krippendorff's Alpha-Reliability, section C
# ("any number of observers, missing data"): 4 observers x 12 units.
_ = None
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, _, _, _],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, _, 3],
    [_, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, _],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, _],
]

# Wikipedia, "Fleiss' kappa", worked example: 10 items, 14 raters, 5 categories.
FLEISS_WIKIPEDIA = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]

# Batista (2018), "Named-Entity evaluation metrics based on entity-level", and
# the nervaluate README: the scenario table, one row per document, in tokens of
# "tikosyn healthy of warfarin propranolol phenytoin oral contraceptives".
# Expected category per scheme: (type, partial, exact, strict).
BATISTA_ROWS = [
    ("III", [(0, 1, "BRAND")], [], ("missed",) * 4),
    ("II", [], [(1, 2, "BRAND")], ("spurious",) * 4),
    ("V", [(3, 4, "DRUG")], [(2, 4, "DRUG")], ("correct", "partial", "incorrect", "incorrect")),
    ("IV", [(4, 5, "DRUG")], [(4, 5, "BRAND")], ("incorrect", "correct", "correct", "incorrect")),
    ("I", [(5, 6, "DRUG")], [(5, 6, "DRUG")], ("correct",) * 4),
    ("VI", [(7, 8, "GROUP")], [(6, 8, "DRUG")], ("incorrect", "partial", "incorrect", "incorrect")),
]
SCHEME_ORDER = ("type", "partial", "exact", "strict")


def _krippendorff_reference(data: list[list[int | None]], level: str) -> float:
    array = np.array([[np.nan if v is None else v for v in row] for row in data], dtype=float)
    return krippendorff.alpha(reliability_data=array, level_of_measurement=level)


def test_agreement_krippendorff_published_example_nominal_labels():
    # Same example coded with category names instead of numbers.
    named = [[None if v is None else f"c{v}" for v in row] for row in KRIPPENDORFF_2011]
    assert krippendorff_alpha(named) == pytest.approx(0.743, abs=5e-4)


@pytest.mark.parametrize(
    ("level", "published"), [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)]
)
def test_agreement_krippendorff_published_example(level, published):
    ours = krippendorff_alpha(KRIPPENDORFF_2011, level)
    assert ours == pytest.approx(published, abs=5e-4)
    assert ours == pytest.approx(_krippendorff_reference(KRIPPENDORFF_2011, level), rel=1e-9)


def test_agreement_fleiss_published_example():
    assert fleiss_kappa(FLEISS_WIKIPEDIA) == pytest.approx(0.210, abs=5e-4)


def test_agreement_cohen_published_example():
    # Wikipedia, "Cohen's kappa", simple example: 50 proposals, both yes 20,
    # A yes / B no 5, A no / B yes 10, both no 15 -> p_o 0.7, p_e 0.5, kappa 0.4.
    rater_a = ["yes"] * 25 + ["no"] * 25
    rater_b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(rater_a, rater_b) == pytest.approx(0.4)


@pytest.mark.parametrize("row", BATISTA_ROWS, ids=[row[0] for row in BATISTA_ROWS])
def test_agreement_span_scores_batista_scenarios(row):
    _, gold, predicted, expected = row
    scores = span_scores([gold], [predicted])
    for scheme, category in zip(SCHEME_ORDER, expected):
        counts = {key: scores[scheme][key] for key in ("correct", "incorrect", "partial", "missed", "spurious")}
        assert counts == {key: int(key == category) for key in counts}, scheme


def test_agreement_span_scores_batista_totals():
    gold = [span for row in BATISTA_ROWS for span in row[1]]
    predicted = [span for row in BATISTA_ROWS for span in row[2]]
    scores = span_scores([gold], [predicted])
    # (correct, incorrect, partial, missed, spurious, precision) per scheme,
    # summed from the scenario table: possible = actual = 5.
    expected = {
        "type": (2, 2, 0, 1, 1, 0.4),
        "partial": (2, 0, 2, 1, 1, 0.6),
        "exact": (2, 2, 0, 1, 1, 0.4),
        "strict": (1, 3, 0, 1, 1, 0.2),
    }
    for scheme, (cor, inc, par, mis, spu, precision) in expected.items():
        got = scores[scheme]
        assert (got["correct"], got["incorrect"], got["partial"], got["missed"], got["spurious"]) == (
            cor,
            inc,
            par,
            mis,
            spu,
        )
        assert (got["possible"], got["actual"]) == (5, 5)
        assert got["precision"] == pytest.approx(precision)
        assert got["recall"] == pytest.approx(precision)
        assert got["f1"] == pytest.approx(precision)


def test_agreement_span_scores_readme_summary_table():
    # The README's "Putting all together" table (correct 3/3/3/2, precision
    # 0.5/0.66/0.5/0.33) counts one more fully correct entity than its scenario
    # table lists; adding one reproduces it.
    gold = [span for row in BATISTA_ROWS for span in row[1]] + [(9, 10, "DRUG")]
    predicted = [span for row in BATISTA_ROWS for span in row[2]] + [(9, 10, "DRUG")]
    scores = span_scores([gold], [predicted])
    assert [scores[s]["correct"] for s in SCHEME_ORDER] == [3, 3, 3, 2]
    assert [scores[s]["f1"] for s in SCHEME_ORDER] == pytest.approx([0.5, 2 / 3, 0.5, 1 / 3])


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_agreement_cohen_matches_sklearn(seed, weights):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 5, size=60)
    # Correlated second rater; the gap in the label set (no 3s) checks that
    # weights use ranks, as sklearn does.
    b = np.where(rng.random(60) < 0.6, a, rng.integers(0, 5, size=60))
    a, b = np.where(a == 3, 7, a), np.where(b == 3, 7, b)
    ours = cohen_kappa(a.tolist(), b.tolist(), weights=weights)
    assert ours == pytest.approx(cohen_kappa_score(a, b, weights=weights), abs=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_agreement_fleiss_matches_statsmodels(seed):
    rng = np.random.default_rng(seed)
    n_raters, n_categories = int(rng.integers(2, 9)), int(rng.integers(2, 6))
    preference = rng.dirichlet(np.ones(n_categories), size=30)
    table = np.array([rng.multinomial(n_raters, p) for p in preference])
    assert fleiss_kappa(table.tolist()) == pytest.approx(sm_fleiss_kappa(table), abs=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("level", LEVELS)
def test_agreement_krippendorff_matches_package(seed, level):
    rng = np.random.default_rng(seed)
    n_coders, n_units = int(rng.integers(2, 7)), int(rng.integers(20, 200))
    truth = rng.integers(1, 7, size=n_units)
    values = np.where(rng.random((n_coders, n_units)) < 0.7, truth, rng.integers(1, 7, size=(n_coders, n_units)))
    missing = rng.random((n_coders, n_units)) < 0.3
    data = [[None if gone else int(v) for v, gone in zip(row, gaps)] for row, gaps in zip(values, missing)]
    expected = _krippendorff_reference(data, level)
    assert krippendorff_alpha(data, level) == pytest.approx(expected, abs=1e-10)
    # NaN-marked numpy input gives the same answer.
    array = np.where(missing, np.nan, values.astype(float))
    assert krippendorff_alpha(array, level) == pytest.approx(expected, abs=1e-10)


def _random_documents(rng: np.random.Generator, n_docs: int) -> tuple[list, list]:
    """Reference spans and candidates that overlap them in every way."""
    labels = ["REGION", "COUNT", "OUTCOME"]
    reference, candidate = [], []
    for _ in range(n_docs):
        ref = []
        for _ in range(int(rng.integers(0, 6))):
            start = int(rng.integers(0, 40))
            ref.append((start, start + int(rng.integers(1, 8)), labels[rng.integers(3)]))
        cand = []
        for start, end, label in ref:
            roll = rng.random()
            if roll < 0.15:
                continue  # missed
            if roll < 0.5:
                start = max(0, start + int(rng.integers(-2, 3)))
                end = max(start + 1, end + int(rng.integers(-2, 3)))
            if rng.random() < 0.25:
                label = labels[rng.integers(3)]
            cand.append((start, end, label))
        for _ in range(int(rng.integers(0, 3))):  # spurious or overlapping extras
            start = int(rng.integers(0, 40))
            cand.append((start, start + int(rng.integers(1, 8)), labels[rng.integers(3)]))
        reference.append(ref)
        candidate.append(cand)
    return reference, candidate


def _nervaluate_docs(docs: list) -> list:
    # nervaluate ends are inclusive and its matching follows list order; ours
    # sorts spans, so hand it the same order.
    return [[{"label": l, "start": s, "end": e - 1} for s, e, l in sorted(doc)] for doc in docs]


def _assert_same_scores(ours: dict, theirs) -> None:
    for key in COUNT_KEYS:
        assert ours[key] == getattr(theirs, key), key
    for key in ("precision", "recall", "f1"):
        if ours[key] is None:
            assert getattr(theirs, key) == 0  # nervaluate reports undefined as 0
        else:
            assert ours[key] == pytest.approx(getattr(theirs, key), abs=1e-12), key


@pytest.mark.parametrize("seed", range(10))
def test_agreement_span_scores_match_nervaluate(seed):
    rng = np.random.default_rng(seed)
    reference, candidate = _random_documents(rng, 40)
    ours = span_scores(reference, candidate)
    tags = ["REGION", "COUNT", "OUTCOME"]
    theirs = Evaluator(_nervaluate_docs(reference), _nervaluate_docs(candidate), tags=tags, loader="dict").evaluate()
    names = {"strict": "strict", "exact": "exact", "partial": "partial", "type": "ent_type"}
    for scheme, name in names.items():
        _assert_same_scores(ours[scheme], theirs["overall"][name])
    assert set(ours["by_label"]) == set(theirs["entities"])
    for label, by_scheme in ours["by_label"].items():
        for scheme, name in names.items():
            _assert_same_scores(by_scheme[scheme], theirs["entities"][label][name])


def test_agreement_span_scores_undefined_is_none():
    empty = span_scores([[], []], [[], []])
    assert empty["strict"]["precision"] is None and empty["strict"]["f1"] is None
    assert empty["by_label"] == {}
    only_candidate = span_scores([[]], [[(0, 4, "COUNT")]])["strict"]
    assert (only_candidate["precision"], only_candidate["recall"], only_candidate["f1"]) == (0.0, None, None)
    disjoint = span_scores([[(0, 4, "COUNT")]], [[(5, 9, "COUNT")]])["strict"]
    assert (disjoint["precision"], disjoint["recall"], disjoint["f1"]) == (0.0, 0.0, 0.0)


def test_agreement_span_scores_accepts_span_records():
    records = [[SpanRecord(0, 4, "REGION"), SpanRecord(10, 12, "COUNT")]]
    assert span_scores(records, [[(0, 4, "REGION"), (10, 12, "COUNT")]])["strict"]["f1"] == 1.0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: cohen_kappa(["a", "b", "a"], ["a", "b"]), "got 3 and 2 labels"),
        (lambda: cohen_kappa(["a"], ["a"], weights="cubic"), "weights must be"),
        (lambda: fleiss_kappa([[1, 2], [3]]), "same number of categories"),
        (lambda: fleiss_kappa([[1, 2], [2, 2]]), "item 0 has 3 ratings but item 1 has 4"),
        (lambda: fleiss_kappa([[1, -1], [0, 0]]), "non-negative whole numbers"),
        (lambda: krippendorff_alpha([[1, 2, 3], [1, 2]]), "rows differ in length"),
        (lambda: krippendorff_alpha([["a", "b"], ["a", "a"]], "ordinal"), "needs numeric values"),
        (lambda: krippendorff_alpha([[1, 2]], "cardinal"), "level must be one of"),
        (lambda: krippendorff_alpha([[1, -2], [1, 3]], "ratio"), "non-negative"),
        (lambda: span_scores([[]], []), "got 1 reference and 0 candidate"),
        (lambda: span_scores([[(5, 5, "COUNT")]], [[]]), "empty or reversed"),
        (lambda: pairwise_span_f1([("A", 1, []), ("A", 1, [])]), "two annotations of sentence 1"),
    ],
)
def test_agreement_invalid_input_raises_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize(
    "call",
    [
        lambda: cohen_kappa([], []),
        lambda: cohen_kappa(["REGION"] * 4, ["REGION"] * 4),
        lambda: cohen_kappa([2] * 4, [2] * 4, weights="quadratic"),
        lambda: fleiss_kappa([]),
        lambda: fleiss_kappa([[3, 0], [3, 0]]),
        lambda: fleiss_kappa([[1, 0], [0, 1]]),  # one rater per item
        lambda: krippendorff_alpha([]),
        lambda: krippendorff_alpha([[1, 1, 1], [1, 1, 1]], "interval"),
        lambda: krippendorff_alpha([[1, None, 3], [None, 2, None]]),  # no unit pairable
        lambda: pairwise_span_f1([])["overall"],
        lambda: bootstrap_ci([], np.mean),
    ],
)
def test_agreement_undefined_returns_none(call):
    assert call() is None


def test_agreement_krippendorff_perfect_agreement_is_one():
    assert krippendorff_alpha([[1, 2, 3, None], [1, 2, 3, 4]], "interval") == pytest.approx(1.0)


def test_agreement_pairwise_span_f1_strict_and_partial():
    annotations = [
        ("ann", 1, [(0, 5, "REGION"), (10, 12, "COUNT")]),
        ("ann", 2, []),  # done, no spans: still shared
        ("bob", 1, [(0, 5, "REGION"), (10, 13, "COUNT")]),
        ("bob", 2, [(3, 4, "OUTCOME")]),
        ("cyd", 3, [(0, 5, "REGION")]),  # shares no sentence with anyone
    ]
    strict = pairwise_span_f1(annotations)
    assert list(strict["pairs"]) == ["ann|bob"]
    pair = strict["pairs"]["ann|bob"]
    assert pair["sentences"] == 2
    assert pair["overall"] == pytest.approx(2 * 1 / 5)
    assert pair["by_label"] == {"COUNT": 0.0, "OUTCOME": 0.0, "REGION": 1.0}
    assert strict["overall"] == pytest.approx(0.4)
    assert strict["by_label"]["REGION"] == 1.0
    partial = pairwise_span_f1(annotations, match="partial")
    assert partial["pairs"]["ann|bob"]["overall"] == pytest.approx(2 * 2 / 5)
    assert partial["by_label"]["COUNT"] == 1.0


def test_agreement_pairwise_span_f1_partial_uses_maximum_matching():
    # A greedy match would pair the long span with (2, 3) and strand (1, 3).
    annotations = [
        AnnotationRecord(7, "ann", "done", (SpanRecord(0, 10, "OUTCOME"), SpanRecord(1, 3, "OUTCOME"))),
        AnnotationRecord(7, "bob", "done", (SpanRecord(2, 3, "OUTCOME"), SpanRecord(5, 6, "OUTCOME"))),
    ]
    assert pairwise_span_f1(annotations, match="partial")["overall"] == 1.0
    assert pairwise_span_f1(annotations)["overall"] == 0.0


def test_agreement_pairwise_span_f1_means_over_pairs():
    annotations = [
        ("a", 1, [(0, 2, "COUNT")]),
        ("b", 1, [(0, 2, "COUNT")]),
        ("c", 1, [(0, 3, "COUNT")]),
    ]
    result = pairwise_span_f1(annotations)
    assert {key: pair["overall"] for key, pair in result["pairs"].items()} == {"a|b": 1.0, "a|c": 0.0, "b|c": 0.0}
    assert result["overall"] == pytest.approx(1 / 3)


def _reference_pairwise_span_f1(annotations: list, match: str) -> dict:
    """pairwise_span_f1 written out plainly: per pair, per shared sentence, per label."""
    table: dict = {}
    for annotator, sentence_id, spans in annotations:
        table.setdefault(annotator, {})[sentence_id] = [
            (s.start_char, s.end_char, s.label) if isinstance(s, SpanRecord) else tuple(s) for s in spans
        ]
    pairs = {}
    for first, second in combinations(sorted(table), 2):
        shared = set(table[first]) & set(table[second])
        if not shared:
            continue
        matched, marked = Counter(), Counter()
        for sentence_id in shared:
            spans_a, spans_b = table[first][sentence_id], table[second][sentence_id]
            for label in {s[2] for s in spans_a + spans_b}:
                of_a = [s for s in spans_a if s[2] == label]
                of_b = [s for s in spans_b if s[2] == label]
                marked[label] += len(of_a) + len(of_b)
                if match == "strict":
                    matched[label] += sum(min(of_a.count(s), of_b.count(s)) for s in set(of_a))
                elif of_a and of_b:
                    overlap = np.array([[float(a[0] < b[1] and b[0] < a[1]) for b in of_b] for a in of_a])
                    rows, cols = linear_sum_assignment(overlap, maximize=True)
                    matched[label] += int(overlap[rows, cols].sum())
        total = sum(marked.values())
        pairs[f"{first}|{second}"] = {
            "overall": 2 * sum(matched.values()) / total if total else None,
            "by_label": {label: 2 * matched[label] / marked[label] for label in sorted(marked)},
            "sentences": len(shared),
        }

    def mean(values):
        defined = [v for v in values if v is not None]
        return sum(defined) / len(defined) if defined else None

    labels = sorted({label for pair in pairs.values() for label in pair["by_label"]})
    return {
        "pairs": pairs,
        "overall": mean(pair["overall"] for pair in pairs.values()),
        "by_label": {label: mean(pair["by_label"].get(label) for pair in pairs.values()) for label in labels},
    }


def _random_annotations(rng: np.random.Generator) -> list:
    """Annotators over overlapping sentence subsets: copied, perturbed, duplicated and empty spans."""
    labels = ["REGION", "COUNT", "OUTCOME"]
    n_sentences = int(rng.integers(1, 25))
    truth = []
    for _ in range(n_sentences):
        spans = []
        for _ in range(int(rng.integers(0, 5))):  # 0: an empty sentence
            start = int(rng.integers(0, 30))
            spans.append((start, start + int(rng.integers(1, 6)), labels[rng.integers(3)]))
        truth.append(spans)
    annotations = []
    for name in ["ann", "bob", "cyd", "dee", "eve"][: int(rng.integers(1, 6))]:
        silent = rng.random() < 0.15  # does sentences but marks no span
        for sentence_id in range(n_sentences):
            if rng.random() < 0.25:
                continue  # not done by this annotator
            spans = [] if silent else list(truth[sentence_id])
            if spans and rng.random() < 0.5:
                kept = []
                for start, end, label in spans:
                    roll = rng.random()
                    if roll < 0.15:
                        continue
                    if roll < 0.35:
                        start = max(0, start + int(rng.integers(-2, 3)))
                        end = max(start + 1, end + int(rng.integers(-2, 3)))
                    if rng.random() < 0.15:
                        label = labels[rng.integers(3)]
                    kept.append((start, end, label))
                spans = kept
            if spans and rng.random() < 0.2:
                spans.append(spans[int(rng.integers(len(spans)))])  # the same span given twice
            if rng.random() < 0.3:
                spans = [spans[i] for i in rng.permutation(len(spans))]
            if rng.random() < 0.5:
                spans = [SpanRecord(*span) for span in spans]
            annotations.append((name, sentence_id, spans))
    return annotations


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("match", ["strict", "partial"])
def test_agreement_pairwise_span_f1_matches_reference(seed, match):
    rng = np.random.default_rng(seed)
    annotations = _random_annotations(rng)
    expected = _reference_pairwise_span_f1(annotations, match)
    assert pairwise_span_f1(annotations, match=match) == expected
    # AnnotationRecords in another order give the same result.
    records = [
        AnnotationRecord(sentence_id, name, "done", tuple(spans)) for name, sentence_id, spans in reversed(annotations)
    ]
    assert pairwise_span_f1(records, match=match) == expected


@pytest.mark.parametrize("match", ["strict", "partial"])
def test_agreement_pairwise_span_f1_counts_a_span_given_twice(match):
    # ann gives (0, 2) twice, bob once: 3 spans marked, 1 match.
    annotations = [
        ("ann", 1, [(0, 2, "COUNT"), (0, 2, "COUNT"), (4, 6, "REGION")]),
        ("bob", 1, [(0, 2, "COUNT"), (4, 6, "REGION"), (4, 6, "REGION")]),
    ]
    result = pairwise_span_f1(annotations, match=match)
    assert result["pairs"]["ann|bob"]["by_label"] == {"COUNT": 2 / 3, "REGION": 2 / 3}
    assert result["overall"] == 2 * 2 / 6


def test_agreement_token_labels_whole_tokens_only():
    text = "Two drones over Kyiv oblast"
    offsets = [(0, 3), (4, 10), (11, 15), (16, 20), (21, 27)]
    spans = [(0, 3, "COUNT"), (16, 27, "REGION"), (5, 10, "OUTCOME")]  # last is misaligned
    assert text[16:27] == "Kyiv oblast"
    assert token_labels(offsets, spans) == ["COUNT", "O", "O", "REGION", "REGION"]
    assert token_labels(4, [(1, 3, "COUNT")]) == ["O", "COUNT", "COUNT", "O"]
    assert token_labels(3, []) == ["O", "O", "O"]


def test_agreement_confusion_extents_and_tokens():
    annotations = [
        ("ann", 1, [(0, 5, "REGION"), (10, 12, "COUNT")]),
        ("bob", 1, [(0, 5, "OUTCOME"), (10, 13, "COUNT")]),
        ("bob", 2, [(0, 1, "COUNT")]),  # ann did not do sentence 2
    ]
    assert confusion(annotations) == {("REGION", "OUTCOME"): 1, ("COUNT", None): 1, (None, "COUNT"): 1}
    tokens = {1: [(0, 5), (6, 9), (10, 12), (12, 13)], 2: 1}
    assert confusion(annotations, tokens=tokens) == {
        ("REGION", "OUTCOME"): 1,
        (None, None): 1,
        ("COUNT", "COUNT"): 1,
        (None, "COUNT"): 1,
    }
    with pytest.raises(ValueError, match="no token offsets for sentence 1"):
        confusion(annotations, tokens={})


def test_agreement_bootstrap_ci_is_seeded_percentile_interval():
    items = [1.0] * 30 + [0.0] * 20
    interval = bootstrap_ci(items, lambda sample: float(np.mean(sample)), n_resamples=500, seed=3)
    assert interval is not None
    low, high = interval
    assert 0.0 <= low < 0.6 < high <= 1.0
    assert bootstrap_ci(items, lambda sample: float(np.mean(sample)), n_resamples=500, seed=3) == interval


def test_agreement_bootstrap_ci_undefined_statistic_is_none():
    assert bootstrap_ci([1, 2, 3], lambda sample: None) is None
    # Defined on the full sample (one "rare" item in 100) but only on the ~37%
    # of resamples that draw it exactly once.
    items = ["rare"] + ["common"] * 99
    assert bootstrap_ci(items, lambda sample: 1.0 if sample.count("rare") == 1 else None) is None


def test_agreement_krippendorff_large_input_is_vectorised():
    # 3 coders x 300,000 units; no timing assertion, it just has to finish.
    rng = np.random.default_rng(0)
    values = rng.integers(1, 6, size=(3, 300_000)).astype(float)
    values[rng.random(values.shape) < 0.2] = np.nan
    assert krippendorff_alpha(values) == pytest.approx(_reference_large(values), abs=1e-9)


def _reference_large(values: np.ndarray) -> float:
    return krippendorff.alpha(reliability_data=values, level_of_measurement="nominal")


@pytest.mark.slow
def test_agreement_import_does_not_load_flask():
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-c", "import annotator.metrics.coefficients, sys; print('flask' in sys.modules)"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "False"
