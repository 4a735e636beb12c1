"""How unsure a trained pipeline is about each sentence: what "most informative first" orders by.

One number per sentence, from 0 (sure) to 1 (as unsure as it can be):

- a **spancat** pipeline: ``max 4·p·(1 − p)`` over every candidate span its
  suggester proposes and every label, ``p`` the label's sigmoid score. 1 when
  some candidate scores 0.5 (the model cannot tell), near 0 when every candidate
  is clearly in or out; 0 for a sentence without candidates (an empty one).
- an **ner** pipeline (its transition scores are not probabilities): the
  disagreement between its entities and the rule suggestions on the same text,
  ``1 − |model ∩ rules| / |model ∪ rules|`` over ``(start_char, end_char, label)``
  keys; 0 when both find nothing.

Pure: texts and spans in, floats out. ``annotator.services.uncertainty`` stores
the figures on the sentences; ``tests/benchmarks/bench_active.py`` imports the
same function.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spacy.language import Language

__all__ = ["sentence_uncertainties", "span_disagreement"]

Key = tuple[int, int, str]


def sentence_uncertainties(
    nlp: Language,
    texts: Sequence[str],
    rule_spans: Callable[[str], Iterable[Key]] | None = None,
    batch_size: int = 256,
) -> list[float]:
    """The uncertainty (0 to 1) of ``nlp`` about each text, in order; see the module's docstring.

    ``rule_spans(text)``: the rule suggestions' keys, which an ner pipeline is
    compared with (without it every ner sentence scores 0). Texts go through the
    pipeline in batches of ``batch_size``.
    """
    from .training import spancat_key  # spaCy: loaded only when a pipeline is run

    if spancat_key(nlp) is not None:
        return _spancat_uncertainties(nlp, texts, batch_size)
    found: list[float] = []
    for text, doc in zip(texts, nlp.pipe(texts, batch_size=batch_size), strict=True):
        model = {(e.start_char, e.end_char, e.label_) for e in doc.ents}
        found.append(span_disagreement(model, set(rule_spans(text)) if rule_spans is not None else model))
    return found


def span_disagreement(model: set[Key], rules: set[Key]) -> float:
    """``1 − |model ∩ rules| / |model ∪ rules|``: 0 when they agree (or both are empty), 1 when they share nothing."""
    union = model | rules
    return 1.0 - len(model & rules) / len(union) if union else 0.0


def _spancat_uncertainties(nlp: Language, texts: Sequence[str], batch_size: int) -> list[float]:
    import numpy

    name = next(n for n in nlp.pipe_names if nlp.get_pipe_meta(n).factory == "spancat")
    spancat: Any = nlp.get_pipe(name)  # a SpanCategorizer: its suggester, model and predict
    found: list[float] = []
    for start in range(0, len(texts), batch_size):
        # Every component before spancat (its tok2vec) annotates the Docs; spancat itself only
        # predicts, so that the scores of all candidates are seen, not those above its threshold.
        docs = list(nlp.pipe(texts[start : start + batch_size], disable=[name]))
        indices, scores = spancat.predict(docs)
        scores = numpy.asarray(spancat.model.ops.to_numpy(scores)) if len(scores) else numpy.zeros((0, 0))
        lengths = spancat.model.ops.to_numpy(indices.lengths)
        offset = 0
        for length in lengths:
            block = scores[offset : offset + int(length)]
            offset += int(length)
            found.append(float((4.0 * block * (1.0 - block)).max()) if block.size else 0.0)
    return found
