"""The spaCy training config written next to an export.

Built by spaCy's own ``init_config`` (CPU, ``optimize="efficiency"``, no
vectors, the blank tokenizer of ``lang``), so it stays in step with the
installed spaCy. ``paths.train`` and ``paths.dev`` stay ``null``: the command
line fills them in::

    python -m spacy train DIR/config.cfg --paths.train DIR/train.spacy --paths.dev DIR/dev.spacy
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

TASKS = ("ner", "spancat")
SPANS_KEY = "sc"  # spancat's default span group: doc.spans["sc"]


def make_config(task: str, labels: Sequence[str], lang: str = "en", max_span_tokens: int = 1) -> str:
    """A complete CPU training config for ``task`` ("ner" or "spancat").

    Labels are not written into the config: spaCy reads them from the
    training data when it initialises the pipeline, so the export is their
    single source. ``labels`` is checked (a non-empty set of names) so that an
    export without any label fails here rather than in ``spacy train``.
    For spancat the n-gram suggester proposes spans of 1 to
    ``max_span_tokens`` tokens, the longest gold span of the data (a longer
    span could never be predicted; a larger size only costs time).
    Raises ``ValueError`` for an unknown task, no labels or a size below 1.
    The config depends on the task, language and (for spancat) size only: it is made once per process
    for each (spaCy's ``init_config`` builds a pipeline to fill in its defaults, a few tenths of a second).
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}: use one of {', '.join(TASKS)}")
    if not labels or any(not isinstance(label, str) or not label for label in labels):
        raise ValueError("a training config needs at least one label name")
    if max_span_tokens < 1:
        raise ValueError(f"max_span_tokens must be at least 1, not {max_span_tokens}")
    return _config(task, lang, max_span_tokens if task == "spancat" else 1)  # ner's config has no size


@lru_cache(maxsize=32)
def _config(task: str, lang: str, max_span_tokens: int) -> str:
    from spacy.cli.init_config import init_config

    config = init_config(lang=lang, pipeline=[task], optimize="efficiency", gpu=False)
    if task == "spancat":
        config["components"]["spancat"]["spans_key"] = SPANS_KEY
        config["components"]["spancat"]["suggester"] = {
            "@misc": "spacy.ngram_suggester.v1",
            "sizes": list(range(1, max_span_tokens + 1)),
        }
        # Like ner's ents_per_type: per-label scores land in meta.json, unweighted.
        config["training"]["score_weights"][f"spans_{SPANS_KEY}_per_type"] = None
    return config.to_str()
