"""Project agreement and conflict classification on hand-built records (no app)."""

from __future__ import annotations

import random

import pytest

from annotator.metrics import coefficients as agreement
from annotator.metrics.project import agreement_report, disagreements
from annotator.records import AnnotationRecord, GoldRecord, GoldSpanRecord, SentenceRecord, SpanRecord

TEXT = "Two drones hit Kyiv oblast at night ."
LABELS = ["REGION", "COUNT", "OUTCOME"]


def tokens_of(text: str) -> tuple[tuple[int, int], ...]:
    out, start = [], 0
    for word in text.split(" "):
        out.append((start, start + len(word)))
        start += len(word) + 1
    return tuple(out)


def sentence(i: int, text: str = TEXT) -> SentenceRecord:
    return SentenceRecord(id=i, report_id=1, position=i, text=text, tokens=tokens_of(text))


def ann(sentence_id: int, name: str, *spans, status: str = "done") -> AnnotationRecord:
    return AnnotationRecord(sentence_id, name, status, tuple(SpanRecord(*s) for s in spans))


COUNT = (0, 3, "COUNT", "2")
KYIV = (15, 19, "REGION", "Kyiv")
KYIV_OBLAST = (15, 26, "REGION", "Kyiv")
HIT = (11, 14, "OUTCOME")

SENTENCES = [sentence(1), sentence(2), sentence(3)]
ANNOTATIONS = [
    ann(1, "ann", COUNT, KYIV),
    ann(1, "bob", COUNT, KYIV_OBLAST),
    ann(1, "cy", COUNT, KYIV),
    ann(2, "ann"),
    ann(2, "bob", HIT),
    ann(3, "ann", COUNT),
    ann(3, "bob", COUNT, HIT, status="skipped"),  # skipped: does not count
    ann(3, "cy", COUNT),
]


@pytest.fixture(scope="module")
def report():
    return agreement_report(SENTENCES, ANNOTATIONS, labels=LABELS, n_resamples=200, seed=1)


def test_project_agreement_span_f1_pools_sentences_then_averages_pairs(report):
    # ann|bob share sentences 1, 2: 1 match, 4 + 1 spans -> 2/5; ann|cy share 1, 3: 3 matches, 6 spans -> 1;
    # bob|cy share only sentence 1 (bob skipped 3): 1 match, 4 spans -> 1/2.
    pairs = report["span_f1"]["pairs"]
    assert pairs["ann|bob"]["overall"] == pytest.approx(0.4)
    assert pairs["ann|cy"]["overall"] == pytest.approx(1.0)
    assert pairs["bob|cy"]["overall"] == pytest.approx(0.5)
    assert pairs["bob|cy"]["sentences"] == 1
    assert report["span_f1"]["overall"] == pytest.approx((0.4 + 1.0 + 0.5) / 3)
    assert report["span_f1"]["by_label"] == pytest.approx({"REGION": 1 / 3, "COUNT": 1.0, "OUTCOME": 0.0})
    counted = [a for a in ANNOTATIONS if a.status != "skipped"]
    expected = agreement.pairwise_span_f1(counted)
    assert report["span_f1"]["overall"] == pytest.approx(expected["overall"])
    assert report["span_f1"]["by_label"] == pytest.approx(expected["by_label"])
    partial = agreement.pairwise_span_f1(counted, match="partial")
    assert report["span_f1"]["partial"]["overall"] == pytest.approx(partial["overall"])
    assert report["span_f1"]["support"]["overall"] == {"sentences": 3, "pairs": 3, "spans": 15}


def test_project_agreement_names_holding_a_bar_make_two_pairs_not_one():
    """x and y|z disagree on every span, x|y and z agree on every one: two pairs, F1 0 and 1, never one key."""
    sentences = [sentence(1), sentence(2), sentence(3), sentence(4)]
    annotations = [
        ann(1, "x", COUNT),
        ann(1, "y|z", KYIV),
        ann(2, "x", COUNT),
        ann(2, "y|z", HIT),
        ann(3, "x|y", COUNT),
        ann(3, "z", COUNT),
        ann(4, "x|y", KYIV),
        ann(4, "z", KYIV),
    ]
    found = agreement_report(sentences, annotations, labels=LABELS, n_resamples=50, seed=1)
    pairs = found["span_f1"]["pairs"]
    assert set(pairs) == {"x|y\\|z", "x\\|y|z"}
    assert pairs["x|y\\|z"]["overall"] == 0.0 and pairs["x\\|y|z"]["overall"] == 1.0
    assert found["span_f1"]["overall"] == pytest.approx(0.5)
    assert set(found["cohen_kappa"]["pairs"]) == set(pairs)
    assert set(agreement.pairwise_span_f1(annotations)["pairs"]) == set(pairs)
    wanted = disagreements(sentences, annotations, pair=("x", "y|z"))
    assert {item["sentence_id"] for item in wanted} == {1, 2}


def _token_table(annotators, sentences, annotations):
    done = {(a.annotator, a.sentence_id): a for a in annotations if a.status != "skipped"}
    table = {name: [] for name in annotators}
    for s in sentences:
        for name in annotators:
            a = done.get((name, s.id))
            labels = agreement.token_labels(s.tokens, a.spans) if a else [None] * len(s.tokens)
            table[name].extend(labels)
    return table


def test_project_agreement_kappa_alpha_and_confusion_match_the_metrics(report):
    table = _token_table(["ann", "bob", "cy"], SENTENCES, ANNOTATIONS)
    for pair in ("ann|bob", "ann|cy", "bob|cy"):
        a, b = pair.split("|")
        both = [(x, y) for x, y in zip(table[a], table[b]) if x is not None and y is not None]
        expected = agreement.cohen_kappa([x for x, _ in both], [y for _, y in both])
        got = report["cohen_kappa"]["pairs"][pair]
        assert got["overall"] == pytest.approx(expected) if expected is not None else got["overall"] is None
        assert got["tokens"] == len(both)
        region = agreement.cohen_kappa([x == "REGION" for x, _ in both], [y == "REGION" for _, y in both])
        assert got["by_label"]["REGION"] == (pytest.approx(region) if region is not None else None)
    alpha = agreement.krippendorff_alpha([table[n] for n in ("ann", "bob", "cy")])
    assert report["krippendorff_alpha"]["overall"] == pytest.approx(alpha)
    binary = [[None if v is None else v == "COUNT" for v in table[n]] for n in ("ann", "bob", "cy")]
    count_alpha = agreement.krippendorff_alpha(binary)
    assert report["krippendorff_alpha"]["by_label"]["COUNT"] == (
        None if count_alpha is None else pytest.approx(count_alpha)
    )
    # Fleiss: sentences 2 and 3 have two annotators each (the most common number), sentence 1 has three.
    fleiss = report["fleiss_kappa"]
    assert (fleiss["annotators_per_sentence"], fleiss["sentences"], fleiss["tokens"]) == (2, 2, 16)
    categories = ["REGION", "COUNT", "OUTCOME", "O"]
    rows = []
    for s in SENTENCES[1:]:
        labels = [
            agreement.token_labels(s.tokens, a.spans)
            for a in ANNOTATIONS
            if a.sentence_id == s.id and a.status != "skipped"
        ]
        rows += [[sum(1 for lab in labels if lab[t] == c) for c in categories] for t in range(len(s.tokens))]
    assert fleiss["overall"] == pytest.approx(agreement.fleiss_kappa(rows))
    tokens = {s.id: s.tokens for s in SENTENCES}
    expected_confusion = agreement.confusion([a for a in ANNOTATIONS if a.status != "skipped"], tokens)
    names = report["confusion"]["labels"]
    got = {
        (names[i], names[j]): n for i, row in enumerate(report["confusion"]["matrix"]) for j, n in enumerate(row) if n
    }
    assert got == expected_confusion


def test_project_agreement_values_progress_and_gold(report):
    # Strict matches with a value: COUNT "2" x4 pairs (ann|bob, ann|cy twice, bob|cy), KYIV ann|cy: all the same.
    assert report["value_agreement"]["overall"] == 1.0
    assert report["value_agreement"]["support"]["overall"]["spans"] == 5
    assert report["progress"]["bob"] == {"done": 2, "flagged": 0, "skipped": 1, "spans": 3}
    # Leave-one-out: only sentence 1 has 2+ other voters for anyone. bob is scored against ann + cy
    # ({COUNT, KYIV}); ann's others (bob, cy) and cy's (ann, bob) tie on the region, so no gold for them.
    # Sentences 2 and 3 have one other voter each: no majority, never the scored annotator's own vote.
    gold = report["gold"]
    assert gold["sentences"] == {"adjudicated": 0, "leave_one_out": 1}
    assert gold["annotators"]["bob"]["precision"] == pytest.approx(0.5)
    assert gold["annotators"]["bob"]["sentences"] == 1
    for name in ("ann", "cy"):
        assert gold["annotators"][name]["f1"] is None
        assert gold["annotators"][name]["sentences"] == 0
        assert "no adjudicated sentence" in gold["annotators"][name]["reason"]
    assert gold["annotators"]["bob"]["reason"] is None
    # An adjudication outranks the vote.
    adjudicated = GoldRecord(2, (GoldSpanRecord(11, 14, "OUTCOME"),))
    with_gold = agreement_report(SENTENCES, ANNOTATIONS, gold=[adjudicated], labels=LABELS, n_resamples=50)
    assert with_gold["gold"]["sentences"] == {"adjudicated": 1, "leave_one_out": 1}
    assert with_gold["gold"]["annotators"]["bob"]["recall"] == pytest.approx(2 / 3)
    assert with_gold["gold"]["annotators"]["ann"]["recall"] == 0.0  # ann left out the adjudicated OUTCOME
    # Strict P/R agree with span_scores' strict scheme.
    ref = [[(0, 3, "COUNT"), (15, 19, "REGION")], [(11, 14, "OUTCOME")]]
    cand = [[(0, 3, "COUNT"), (15, 26, "REGION")], [(11, 14, "OUTCOME")]]
    strict = agreement.span_scores(ref, cand)["strict"]
    assert with_gold["gold"]["annotators"]["bob"]["precision"] == pytest.approx(strict["precision"])


def test_project_agreement_intervals_contain_the_estimate(report):
    for section in ("span_f1", "krippendorff_alpha"):
        low, high = report[section]["ci"]["overall"]
        assert low <= report[section]["overall"] <= high
    for label in ("REGION", "COUNT"):
        low, high = report["span_f1"]["ci"]["by_label"][label]
        assert low <= report["span_f1"]["by_label"][label] <= high


def test_project_agreement_undefined_figures_are_none():
    # One annotator only: no pair, nothing to agree on.
    lonely = agreement_report(SENTENCES, [ann(1, "ann", COUNT)], labels=LABELS, n_resamples=20)
    assert lonely["span_f1"]["overall"] is None
    assert lonely["span_f1"]["ci"] == {"overall": None, "by_label": dict.fromkeys(LABELS)}
    assert lonely["krippendorff_alpha"]["overall"] is None and lonely["krippendorff_alpha"]["ci"]["overall"] is None
    assert lonely["cohen_kappa"]["overall"] is None and lonely["fleiss_kappa"]["overall"] is None
    # Two annotators who both mark nothing: F1 undefined, alpha undefined (no variation).
    empty = agreement_report(SENTENCES[:1], [ann(1, "ann"), ann(1, "bob")], labels=LABELS, n_resamples=20)
    assert empty["span_f1"]["overall"] is None and empty["span_f1"]["support"]["overall"]["sentences"] == 1
    assert empty["krippendorff_alpha"]["overall"] is None and empty["krippendorff_alpha"]["ci"]["overall"] is None
    assert empty["value_agreement"]["overall"] is None
    assert agreement_report([], [], labels=LABELS, n_resamples=5)["span_f1"]["overall"] is None


def test_project_agreement_rejects_unknown_sentence():
    with pytest.raises(ValueError, match="not in the project"):
        agreement_report(SENTENCES, [ann(99, "ann")])


# --- conflicts ---------------------------------------------------------------------------

R = (15, 19, "REGION", "Kyiv")
R_WIDE = (15, 26, "REGION", "Kyiv")
R_AS_COUNT = (15, 19, "COUNT")
R_OTHER_VALUE = (15, 19, "REGION", "Kyiv Oblast")


@pytest.mark.parametrize(
    ("versions", "types"),
    [
        pytest.param({"ann": [R], "bob": [R_WIDE]}, ["boundary"], id="boundary"),
        pytest.param({"ann": [R], "bob": [R_AS_COUNT]}, ["label"], id="label"),
        pytest.param({"ann": [R, COUNT], "bob": [R]}, ["presence"], id="presence"),
        pytest.param({"ann": [R], "bob": [R_OTHER_VALUE]}, ["value"], id="value"),
        pytest.param({"ann": [R], "bob": [(15, 26, "COUNT")]}, ["label", "boundary"], id="label-and-boundary"),
        pytest.param({"ann": [R], "bob": [R], "cy": []}, ["presence"], id="presence-of-three"),
    ],
)
def test_conflicts_classify_each_type(versions, types):
    annotations = [ann(1, name, *spans) for name, spans in versions.items()]
    [found] = disagreements(SENTENCES[:1], annotations)
    assert [c["types"] for c in found["conflicts"]] == [types]
    conflict = found["conflicts"][0]
    assert conflict["type"] == types[0]
    assert set(conflict["versions"]) == set(versions)
    assert conflict["severity"] > 0


def test_conflicts_mixed_sentence_lists_each_region():
    annotations = [ann(1, "ann", COUNT, R, HIT), ann(1, "bob", (0, 3, "COUNT", "3"), R_WIDE), ann(1, "cy", COUNT, R)]
    [found] = disagreements(SENTENCES[:1], annotations)
    by_start = {c["start_char"]: c for c in found["conflicts"]}
    assert by_start[0]["types"] == ["value"]
    assert by_start[11]["types"] == ["presence"]  # HIT: only ann
    assert by_start[15]["types"] == ["boundary"]
    assert by_start[15]["versions"]["bob"][0]["text"] == "Kyiv oblast"
    assert found["types"] == ["presence", "boundary", "value"]
    # Severities: weight x share outside the largest group of identical versions.
    assert by_start[11]["severity"] == pytest.approx(2.0 * 1 / 3)
    assert found["severity"] == pytest.approx(sum(c["severity"] for c in found["conflicts"]))


def test_conflicts_agreed_sentence_and_skips_are_no_conflict():
    annotations = [ann(1, "ann", COUNT, R), ann(1, "bob", COUNT, R), ann(1, "cy", HIT, status="skipped")]
    assert disagreements(SENTENCES[:1], annotations) == []


def test_conflicts_sorted_flagged_then_worst_first_and_filtered():
    annotations = [
        ann(1, "ann", R),
        ann(1, "bob", R_WIDE),  # boundary: mild
        ann(2, "ann", R),
        ann(2, "bob", R_AS_COUNT),
        ann(2, "cy", R_AS_COUNT, status="flagged"),  # label
        ann(3, "ann", R, HIT),
        ann(3, "bob", R),
        ann(3, "cy", R_AS_COUNT),  # presence + label
    ]
    found = disagreements(SENTENCES, annotations)
    assert [f["sentence_id"] for f in found] == [2, 3, 1]  # flagged first, as the review queue serves them
    assert found[0]["flagged_by"] == ["cy"]
    assert [f["sentence_id"] for f in disagreements(SENTENCES, annotations, types=["boundary"])] == [1]
    assert [f["sentence_id"] for f in disagreements(SENTENCES, annotations, labels=["OUTCOME"])] == [3]
    assert [f["sentence_id"] for f in disagreements(SENTENCES, annotations, pair=("cy", "bob"))] == [
        3
    ]  # they agree on 2
    assert [f["sentence_id"] for f in disagreements(SENTENCES, annotations, pair=("ann", "bob"), types=["label"])] == [
        2
    ]
    with pytest.raises(ValueError):
        disagreements(SENTENCES, annotations, types=["typo"])


@pytest.mark.slow
def test_project_agreement_runs_on_100000_sentences_by_3_annotators():
    rng = random.Random(7)
    base = [SpanRecord(0, 3, "COUNT", "2"), SpanRecord(11, 14, "OUTCOME"), SpanRecord(15, 19, "REGION", "Kyiv")]
    alternatives = [SpanRecord(15, 26, "REGION", "Kyiv"), SpanRecord(15, 19, "COUNT"), SpanRecord(27, 35, "OUTCOME")]
    template = sentence(0)
    sentences = [SentenceRecord(i, i, 0, TEXT, 0, template.tokens) for i in range(100_000)]
    annotations = []
    for i in range(100_000):
        for name in ("ann", "bob", "cy"):
            spans = [s for s in base if rng.random() < 0.95]
            if rng.random() < 0.1:
                spans.append(rng.choice(alternatives))
            annotations.append(AnnotationRecord(i, name, "done", tuple(spans)))
    result = agreement_report(sentences, annotations, labels=LABELS, n_resamples=1000)
    assert result["multi_annotated"] == 100_000
    low, high = result["span_f1"]["ci"]["overall"]
    assert low <= result["span_f1"]["overall"] <= high
    assert result["krippendorff_alpha"]["overall"] is not None


def test_project_agreement_two_annotators_without_adjudication_have_no_gold():
    # They agree exactly everywhere: a consensus of the two would score both 1.000 against themselves.
    sentences = [sentence(1), sentence(2)]
    both = [ann(i, name, COUNT, KYIV) for i in (1, 2) for name in ("ann", "bob")]
    report = agreement_report(sentences, both, labels=LABELS, n_resamples=20)
    for name in ("ann", "bob"):
        scores = report["gold"]["annotators"][name]
        assert (scores["precision"], scores["recall"], scores["f1"]) == (None, None, None)
        assert scores["reason"].startswith("no adjudicated sentence")
    # After one adjudication, both are scored on that sentence only.
    gold = [GoldRecord(1, (GoldSpanRecord(0, 3, "COUNT"),))]
    report = agreement_report(sentences, both, gold=gold, labels=LABELS, n_resamples=20)
    for name in ("ann", "bob"):
        scores = report["gold"]["annotators"][name]
        assert scores["sentences"] == scores["adjudicated"] == 1
        assert (scores["precision"], scores["recall"]) == (0.5, 1.0)
