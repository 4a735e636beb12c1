"""Where each annotator's spans come from, and how accepted suggestions fare against gold.

A span is *suggested* when the annotator accepted a suggestion unchanged
(``SpanRecord.suggested``), with the suggestion's ``source`` ("import",
"rules", "model") and, for a model's, its ``model_version``; a span made,
relabelled or resized by hand is *hand-made*. A suggested span saved before
sources were kept has source None and counts under "unknown".

Per annotator, and for everyone together (``overall``):

* ``spans``: spans in their done and flagged annotations; ``suggested`` and
  ``share`` (suggested / spans), and per source the same with the model
  versions that suggested them;
* ``vs_gold``: on the sentences with adjudicated gold, the precision of
  suggested and of hand-made spans, strict match (same start_char, end_char
  and label as a gold span): ``correct`` of ``spans``, and per source.

Every share and precision is None when its count of spans is 0, never 0.
The review dashboard and ``annotator agreement --json`` (key ``suggestions``)
show :func:`suggestion_sources`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from ..records import SUGGESTION_SOURCES, AnnotationRecord, GoldRecord

COUNTED_STATUSES = ("done", "flagged")
UNKNOWN = "unknown"  # a suggested span saved before its source was kept
RULE = (
    "spans of done and flagged annotations; vs gold: on adjudicated sentences, the share of spans that "
    "match a gold span exactly (start, end and label)"
)


class _Counts:
    """Spans and gold matches of one annotator (or everyone), by where the spans came from."""

    def __init__(self) -> None:
        self.spans = 0
        self.by_source: Counter[str] = Counter()
        self.versions: dict[str, Counter[int | None]] = defaultdict(Counter)
        # (source or "hand") -> [correct, scored spans], on sentences with adjudicated gold
        self.gold: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        self.gold_sentences = 0

    def add(self, span: Any, match: bool | None) -> None:
        self.spans += 1
        origin = "hand"
        if span.suggested:
            origin = span.source if span.source in SUGGESTION_SOURCES else UNKNOWN
            self.by_source[origin] += 1
            if origin == "model":
                self.versions[origin][span.model_version] += 1
        if match is not None:
            tally = self.gold[origin]
            tally[0] += match
            tally[1] += 1

    def summary(self, sources: Sequence[str]) -> dict[str, Any]:
        suggested = sum(self.by_source.values())
        scored_suggested = [sum(self.gold[s][i] for s in sources) for i in (0, 1)]
        return {
            "spans": self.spans,
            "suggested": suggested,
            "share": _ratio(suggested, self.spans),
            "by_source": {
                source: {
                    "spans": self.by_source[source],
                    "share": _ratio(self.by_source[source], self.spans),
                    "model_versions": _versions(self.versions.get(source, Counter())),
                    "vs_gold": _precision(*self.gold[source]),
                }
                for source in sources
            },
            "vs_gold": {
                "sentences": self.gold_sentences,
                "suggested": _precision(*scored_suggested),
                "hand_made": _precision(*self.gold["hand"]),
            },
        }


def suggestion_sources(
    annotations: Iterable[AnnotationRecord],
    gold: Iterable[GoldRecord] = (),
    sources: Sequence[str] = SUGGESTION_SOURCES,
) -> dict[str, Any]:
    """Spans per annotator by origin, and their precision against adjudicated gold (see the module doc).

    ``gold`` holds the adjudicated sentences. Returns ``{"annotators": {name:
    figures}, "overall": figures, "summary": str, "sources": [...], "rule": str}``
    (``summary``: :func:`describe` of the overall figures) where
    ``figures`` is ``{"spans", "suggested", "share", "by_source": {source:
    {"spans", "share", "model_versions": [{"version", "spans"}], "vs_gold"}},
    "vs_gold": {"sentences", "suggested", "hand_made"}}`` and each
    ``vs_gold`` figure is ``{"precision", "correct", "spans"}``. ``sources``
    lists "unknown" last. ``version`` is None for a model suggestion with no
    version number (a project's model path from before model versions).
    """
    reference = {g.sentence_id: {(s.start_char, s.end_char, s.label) for s in g.spans} for g in gold}
    per_annotator: dict[str, _Counts] = defaultdict(_Counts)
    overall = _Counts()
    scored_sentences: set[int] = set()
    for annotation in annotations:
        if annotation.status not in COUNTED_STATUSES:
            continue
        counts = per_annotator[annotation.annotator]
        keys = reference.get(annotation.sentence_id)
        if keys is not None:
            counts.gold_sentences += 1
            scored_sentences.add(annotation.sentence_id)
        for span in annotation.spans:
            match = None if keys is None else (span.start_char, span.end_char, span.label) in keys
            counts.add(span, match)
            overall.add(span, match)
    overall.gold_sentences = len(scored_sentences)
    listed = [*sources, UNKNOWN]
    everyone = overall.summary(listed)
    return {
        "annotators": {name: per_annotator[name].summary(listed) for name in sorted(per_annotator)},
        "overall": everyone,
        "summary": describe(everyone),
        "sources": listed,
        "rule": RULE,
    }


def describe(figures: dict[str, Any]) -> str:
    """One sentence in words on ``figures["vs_gold"]`` (an annotator's or the overall figures).

    E.g. "On 12 adjudicated sentences, accepted suggestions agree with gold 71% of the time
    (50 of 70 spans), hand-made spans 84% (42 of 50)."
    """
    gold = figures["vs_gold"]
    if not gold["sentences"]:
        return "No adjudicated sentence has these spans yet: adjudicate sentences to compare suggestions with gold."

    def part(figure: dict[str, Any], what: str) -> str:
        if figure["precision"] is None:
            return f"no {what} to compare"
        return f"{what} {figure['precision']:.0%} ({figure['correct']} of {figure['spans']} span{'' if figure['spans'] == 1 else 's'})"

    n = gold["sentences"]
    suggested, hand = part(gold["suggested"], "accepted suggestions"), part(gold["hand_made"], "hand-made spans")
    return (
        f"On {n} adjudicated sentence{'' if n == 1 else 's'}, spans that agree with gold exactly: {suggested}; {hand}."
    )


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _precision(correct: int, spans: int) -> dict[str, Any]:
    return {"precision": _ratio(correct, spans), "correct": correct, "spans": spans}


def _versions(counts: Counter[int | None]) -> list[dict[str, Any]]:
    """Model versions by number (None, no number, last) with their spans."""
    return [
        {"version": version, "spans": counts[version]} for version in sorted(counts, key=lambda v: (v is None, v or 0))
    ]
