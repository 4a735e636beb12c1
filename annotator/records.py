"""Plain records that flow between the database layer and the pure core.

Character offsets are Python code points, ``end_char`` exclusive, relative to
the text the record belongs to (a span's offsets are relative to its
sentence). Token indices, where they appear, are spaCy token indices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Where a suggested span comes from: imported with the corpus, a trained model, the rules; also the
# order in which a span several sources suggest is attributed (services.suggestions).
SUGGESTION_SOURCES = ("import", "model", "rules")


@dataclass(frozen=True)
class SpanRecord:
    """One labelled span of a sentence."""

    start_char: int
    end_char: int
    label: str
    value: str | None = None  # normalised value: a number, canonical region, category
    suggested: bool = False  # came from a suggestion the annotator accepted
    source: str | None = None  # the accepted suggestion's source (SUGGESTION_SOURCES); None if unknown or hand-made
    model_version: int | None = None  # the ModelVersion.number that suggested it (source "model")


@dataclass(frozen=True)
class SentenceRecord:
    """A sentence as stored: its text and where it sits in its report."""

    id: int
    report_id: int
    position: int  # 0-based index of the sentence in its report
    text: str
    start_char: int = 0  # offset of the sentence in the report text
    tokens: tuple[tuple[int, int], ...] = ()  # (start_char, end_char) per token


SpanKey = tuple[int, int, str]  # (start_char, end_char, label): names one span of a sentence


@dataclass(frozen=True)
class IncidentRecord:
    """Spans of one sentence that together make one incident (``annotator.incidents``).

    ``spans`` are keys of spans of the same annotation (or gold), sorted; ``provenance`` is set on
    gold incidents only, as on gold spans.
    """

    spans: tuple[SpanKey, ...]
    provenance: str | None = None


@dataclass(frozen=True)
class AnnotationRecord:
    """One annotator's annotation of one sentence."""

    sentence_id: int
    annotator: str
    status: str  # "done" | "skipped" | "flagged"
    spans: tuple[SpanRecord, ...] = ()
    comment: str | None = None  # the annotator's note; a flag's question to the reviewer
    incidents: tuple[IncidentRecord, ...] = ()


@dataclass(frozen=True)
class GoldSpanRecord:
    start_char: int
    end_char: int
    label: str
    value: str | None = None
    provenance: str = "adjudicated"  # "unanimous" | "majority" | "adjudicated" | "single annotator"


@dataclass(frozen=True)
class GoldRecord:
    """The adjudicated (reviewed) spans of a sentence."""

    sentence_id: int
    spans: tuple[GoldSpanRecord, ...] = ()
    reviewer: str | None = None
    incidents: tuple[IncidentRecord, ...] = ()


@dataclass(frozen=True)
class ReportRecord:
    """A report parsed from an input file, before it is stored."""

    text: str
    external_id: str | None = None
    source: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    line: int | None = None  # line of the input file it starts on
    annotations: tuple[ImportedAnnotation, ...] = ()  # annotations that came with it


@dataclass(frozen=True)
class ImportedAnnotation:
    """Spans that arrived with a report, offsets relative to the report text."""

    annotator: str | None  # None: the importer names one (or loads suggestions)
    spans: tuple[SpanRecord, ...]
    status: str = "done"
    incidents: tuple[IncidentRecord, ...] = ()  # span keys with offsets relative to the report text
