"""Agreement: seconds for N sentences x 3 annotators, against the reference packages.

Same data for both sides (the synthetic corpus of bench_export: each
annotator keeps each true span with probability 0.9):

- ``krippendorff_alpha``: annotator.metrics.coefficients.krippendorff_alpha (nominal) on
  the 3 x tokens matrix of token labels vs ``krippendorff.alpha``.
- ``cohen_kappa``: annotator.metrics.coefficients.cohen_kappa on the token labels of the
  3 pairs vs ``sklearn.metrics.cohen_kappa_score``.
- ``pairwise_span_f1``: annotator.metrics.coefficients.pairwise_span_f1 (strict) vs a
  bare loop intersecting Counters of (start, end, label) per pair and sentence.
- ``agreement_report``: annotator.metrics.project.agreement_report (with its
  default 1000 bootstrap resamples) vs the sum of the three limits above.

Every figure is seconds (lower is better); ``check`` is the largest absolute
difference between our value and the reference's.

    python tests/benchmarks/bench_agreement.py [--size N]
"""

from __future__ import annotations

import importlib.util
import time
from collections import Counter
from itertools import combinations

import _common as c
import bench_export
import numpy as np


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    value = fn(*args, **kwargs)
    return time.perf_counter() - started, value


def bare_span_f1(table):
    out = {}
    for a, b in combinations(sorted(table), 2):
        matched = total = 0
        for sid in table[a].keys() & table[b].keys():
            x, y = Counter(table[a][sid]), Counter(table[b][sid])
            matched += sum((x & y).values())
            total += sum(x.values()) + sum(y.values())
        out[f"{a}|{b}"] = 2 * matched / total if total else None
    return out


def main(argv=None) -> list[dict]:
    import krippendorff
    from sklearn.metrics import cohen_kappa_score

    from annotator.corpus.text import make_nlp, token_offsets
    from annotator.metrics import coefficients as agreement
    from annotator.records import SentenceRecord

    args = c.parser(__doc__.splitlines()[0]).parse_args(argv)
    nlp = make_nlp("en")
    sentences, annotations, _ = bench_export.corpus(args.size)
    sentences = [
        SentenceRecord(s.id, s.report_id, s.position, s.text, 0, token_offsets(nlp, s.text)) for s in sentences
    ]
    names = bench_export.ANNOTATORS

    # Token labels per annotator, in one fixed token order (not timed: both sides need it).
    projection_seconds = time.perf_counter()
    by_annotator = {name: {} for name in names}
    for a in annotations:
        by_annotator[a.annotator][a.sentence_id] = a.spans
    labels = {
        name: [lab for s in sentences for lab in agreement.token_labels(s.tokens, by_annotator[name][s.id])]
        for name in names
    }
    projection_seconds = time.perf_counter() - projection_seconds
    codes = {"O": 0, "REGION": 1, "COUNT": 2, "OUTCOME": 3}
    matrix = np.array([[codes[x] for x in labels[name]] for name in names], dtype=float)
    n_tokens = matrix.shape[1]
    common = {"n": len(sentences), "backend": "none", "annotators": len(names), "tokens": n_tokens}
    out = []

    ours_s, ours = timed(agreement.krippendorff_alpha, matrix, "nominal")
    ref_s, ref = timed(krippendorff.alpha, reliability_data=matrix, level_of_measurement="nominal")
    out.append(
        c.emit("agreement.krippendorff_alpha.seconds.lower_better", ours_s, "s", ref_s, check=abs(ours - ref), **common)
    )
    alpha_ref_s = ref_s

    ours_s = ref_s = check = 0.0
    for a, b in combinations(names, 2):
        t, ours = timed(agreement.cohen_kappa, labels[a], labels[b])
        ours_s += t
        t, ref = timed(cohen_kappa_score, labels[a], labels[b])
        ref_s += t
        check = max(check, abs(ours - ref))
    out.append(c.emit("agreement.cohen_kappa_3_pairs.seconds.lower_better", ours_s, "s", ref_s, check=check, **common))
    kappa_ref_s = ref_s

    triples = [(a.annotator, a.sentence_id, a.spans) for a in annotations]
    table = {
        name: {sid: [(s.start_char, s.end_char, s.label) for s in spans] for sid, spans in by.items()}
        for name, by in by_annotator.items()
    }
    ours_s, ours = timed(agreement.pairwise_span_f1, triples)
    ref_s, ref = timed(bare_span_f1, table)
    check = max(abs(ours["pairs"][k]["overall"] - v) for k, v in ref.items())
    out.append(
        c.emit(
            "agreement.pairwise_span_f1.seconds.lower_better",
            ours_s,
            "s",
            ref_s,
            check=check,
            limit_tool="bare Counter intersection",
            **common,
        )
    )
    f1_ref_s = ref_s

    out.append(
        c.emit(
            "agreement.token_projection.seconds.lower_better",
            projection_seconds,
            "s",
            None,
            note="agreement.token_labels for every annotator and sentence (input to alpha and kappa)",
            **common,
        )
    )

    if importlib.util.find_spec("annotator.metrics.project") is not None:
        from annotator.metrics.project import agreement_report

        ours_s, report = timed(agreement_report, sentences, annotations)
        check = (
            abs(report["krippendorff_alpha"]["overall"] - alpha_value(matrix))
            if isinstance(report.get("krippendorff_alpha"), dict) and "overall" in report["krippendorff_alpha"]
            else None
        )
        out.append(
            c.emit(
                "agreement.agreement_report.seconds.lower_better",
                ours_s,
                "s",
                alpha_ref_s + kappa_ref_s + f1_ref_s,
                check=check,
                limit_tool="krippendorff.alpha + sklearn cohen_kappa_score x3 + bare span F1",
                resamples=1000,
                **common,
            )
        )
    return out


def alpha_value(matrix):
    import krippendorff

    return krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")


if __name__ == "__main__":
    main()
