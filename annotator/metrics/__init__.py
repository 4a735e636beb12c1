"""Agreement metrics on plain records; numpy only (no Flask, no database, no spaCy).

``coefficients``: Cohen's and Fleiss' kappa, Krippendorff's alpha, the bootstrap interval. ``span_metrics``
and ``span_agreement``: span scores and pairwise span F1; ``summary``: a pair's F1 from counts and the mean
over pairs; ``tally`` and ``gold_scores``: their streaming forms; ``token_agreement``: the token tables;
``incident_agreement``: pairwise F1 on incidents; ``disagreements``: where annotators disagree; ``project``: the report behind the review dashboard.
Each figure is defined by one function, which the dashboard, the CLI and the export manifest all call.
"""

from __future__ import annotations

from .coefficients import (
    bootstrap_ci,
    cohen_kappa,
    cohen_kappa_table,
    fleiss_kappa,
    fleiss_kappa_counts,
    krippendorff_alpha,
    nominal_alpha,
    percentile_interval,
)
from .disagreements import disagreements, sentence_disagreements, span_dict
from .gold_scores import GoldScoreTally, annotator_vs_gold, model_vs_gold
from .incident_agreement import incident_agreement, matched_incidents
from .project import agreement_report
from .span_agreement import confusion, matched_count, pairwise_span_f1, token_labels
from .span_metrics import as_span, overlaps, span_scores
from .summary import mean_defined, pair_f1, pairs_mean
from .tally import SpanF1Tally
from .token_agreement import token_tables

__all__ = [
    "GoldScoreTally",
    "SpanF1Tally",
    "agreement_report",
    "annotator_vs_gold",
    "as_span",
    "bootstrap_ci",
    "cohen_kappa",
    "cohen_kappa_table",
    "confusion",
    "disagreements",
    "fleiss_kappa",
    "fleiss_kappa_counts",
    "incident_agreement",
    "krippendorff_alpha",
    "matched_count",
    "matched_incidents",
    "model_vs_gold",
    "mean_defined",
    "nominal_alpha",
    "overlaps",
    "pair_f1",
    "pairs_mean",
    "pairwise_span_f1",
    "percentile_interval",
    "sentence_disagreements",
    "span_dict",
    "span_scores",
    "token_labels",
    "token_tables",
]
