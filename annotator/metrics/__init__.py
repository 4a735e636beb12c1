"""Agreement metrics on plain records; numpy only (no Flask, no database, no spaCy).

``coefficients``: Cohen's and Fleiss' kappa, Krippendorff's alpha, the bootstrap interval. ``span_metrics``
and ``span_agreement``: span scores and pairwise span F1; ``summary``: a pair's F1 from counts and the mean
over pairs; ``tally`` and ``gold_scores``: their streaming forms; ``token_agreement``: the token tables;
``incident_agreement``: pairwise F1 on incidents; ``disagreements``: where annotators disagree; ``project``: the
report behind the review dashboard; ``suggestion_sources``: where spans come from (accepted suggestions by
source, hand-made) and their precision vs gold.
Each figure is defined by one function, which the dashboard, the CLI and the export manifest all call.
Names load on first use, so that a module that needs no numpy (``disagreements``) does not load it.
"""

from __future__ import annotations

from ..lazy import lazy_attributes

# Functions named as their modules are bound now: once a module is loaded, it is the package's attribute
# of that name, and the lazy lookup below would never be asked. These modules are light (no numpy).
from .disagreements import disagreements as disagreements
from .incident_agreement import incident_agreement as incident_agreement
from .suggestion_sources import suggestion_sources as suggestion_sources

_WHERE = {
    "GoldScoreTally": "gold_scores",
    "SpanF1Tally": "tally",
    "agreement_report": "project",
    "annotator_vs_gold": "gold_scores",
    "as_span": "span_metrics",
    "bootstrap_ci": "coefficients",
    "cohen_kappa": "coefficients",
    "cohen_kappa_table": "coefficients",
    "confusion": "span_agreement",
    "fleiss_kappa": "coefficients",
    "fleiss_kappa_counts": "coefficients",
    "krippendorff_alpha": "coefficients",
    "matched_count": "span_agreement",
    "matched_incidents": "incident_agreement",
    "mean_defined": "summary",
    "model_vs_gold": "gold_scores",
    "nominal_alpha": "coefficients",
    "overlaps": "span_metrics",
    "pair_f1": "summary",
    "pair_key": "summary",
    "pairs_mean": "summary",
    "pairwise_span_f1": "span_agreement",
    "percentile_interval": "coefficients",
    "review_order": "disagreements",
    "sentence_disagreements": "disagreements",
    "span_dict": "disagreements",
    "span_scores": "span_metrics",
    "token_labels": "span_agreement",
    "token_tables": "token_agreement",
}

__all__ = sorted([*_WHERE, "disagreements", "incident_agreement", "suggestion_sources"])

__getattr__ = lazy_attributes(__name__, _WHERE)
