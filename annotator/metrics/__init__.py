"""Agreement metrics on plain records.

``coefficients`` holds the chance-corrected coefficients (Cohen's and Fleiss' kappa,
Krippendorff's alpha, the bootstrap); ``span_metrics`` and ``span_agreement`` the span scores;
``tally`` and ``gold_scores`` their streaming forms; ``token_agreement`` the token tables;
``disagreements`` where annotators disagree; ``project`` the report behind the review dashboard.
"""
from __future__ import annotations

from .coefficients import bootstrap_ci, cohen_kappa, confusion, fleiss_kappa, krippendorff_alpha, pairwise_span_f1, span_scores, token_labels
from .disagreements import disagreements, sentence_conflicts, span_dict
from .gold_scores import GoldScoreTally, annotator_vs_gold
from .project import agreement_report
from .span_agreement import matched_count
from .span_metrics import as_span, overlaps
from .tally import SpanF1Tally
from .token_agreement import token_tables

__all__ = ['GoldScoreTally', 'SpanF1Tally', 'agreement_report', 'annotator_vs_gold', 'as_span', 'bootstrap_ci', 'cohen_kappa', 'confusion', 'disagreements', 'fleiss_kappa', 'krippendorff_alpha', 'matched_count', 'overlaps', 'pairwise_span_f1', 'sentence_conflicts', 'span_dict', 'span_scores', 'token_labels', 'token_tables']
