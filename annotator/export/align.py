"""Gold spans on spaCy Docs: strict alignment and its problems, overlapping pairs, the Prodigy records of
annotations.jsonl. Each function takes one sentence's records and its Doc.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from ..incidents import incident_relations
from ..labels.kinds import labels_of_kind
from ..records import AnnotationRecord, GoldSpanRecord, IncidentRecord, SentenceRecord, SpanRecord
from .gold import ANNOTATOR_PREFIX, Resolution
from .spacy_config import SPANS_KEY
from .split import SPLITS

if TYPE_CHECKING:  # spaCy loads when an export starts, not with the app
    from spacy.tokens import Doc, Span

    from .files import DocRow
    from .pending import Exported

__all__ = [
    "align_spans",
    "annotate_doc",
    "export_scheme",
    "jsonl_line",
    "linked_label_names",
    "linked_labels",
    "overlapping_pairs",
    "prodigy_line",
    "prodigy_record",
    "source_kind",
    "split_rows",
]

# Labels whose value is a place, of the scheme being exported: the value becomes the span's kb_id (an entity
# id, as spaCy's entity linker reads it). Unset: the region labels of the default scheme.
_LINKED: ContextVar[frozenset[str] | None] = ContextVar("annotator_linked_labels", default=None)
# The label dicts of the scheme being exported: the kinds that give spans their roles in incidents.
_SCHEME: ContextVar[list[Mapping[str, Any]] | None] = ContextVar("annotator_export_scheme", default=None)


@contextmanager
def linked_labels(scheme: Iterable[Mapping[str, Any]]) -> Iterator[frozenset[str]]:
    """Within the block, spans of ``scheme``'s region labels carry their value as ``kb_id_`` on export.

    ``scheme`` is a project's label dicts (``Project.labels``); the export of a project runs inside this
    block, so a region label called anything (PLACE, a renamed REGION) keeps its ``kb_id_``.
    """
    scheme = list(scheme)
    names = frozenset(labels_of_kind("region", scheme))
    token, scheme_token = _LINKED.set(names), _SCHEME.set(scheme)
    try:
        yield names
    finally:
        _LINKED.reset(token)
        _SCHEME.reset(scheme_token)


def export_scheme() -> list[Mapping[str, Any]] | None:
    """The scheme of the export running (``linked_labels``), None outside one (the default scheme)."""
    return _SCHEME.get()


def linked_label_names() -> frozenset[str]:
    """The labels whose value is a span's ``kb_id_``: those of ``linked_labels``' block, else the default's."""
    names = _LINKED.get()
    return frozenset(labels_of_kind("region")) if names is None else names


def split_rows(
    pending: Iterable[Exported], dev_reports: set[int], add: Mapping[str, Callable[[DocRow], None]]
) -> dict[str, dict[str, Any]]:
    """Hand each exported sentence's DocBin row to its split, in order; return the counts per split.

    The rows were made in the first pass (``first_pass.FirstPass``), from the one Doc each sentence is
    tokenised into: a row takes ~2 KB, a Doc ~5 KB.
    """
    docs: Counter[str] = Counter()
    labels: dict[str, Counter[str]] = {side: Counter() for side in SPLITS}
    for report_id, span_labels, row in pending:
        side = "dev" if report_id in dev_reports else "train"
        add[side](row)
        docs[side] += 1
        labels[side].update(span_labels)
    return {
        side: {"docs": docs[side], "spans": sum(labels[side].values()), "labels": dict(sorted(labels[side].items()))}
        for side in SPLITS
    }


def align_spans(
    doc: Doc, sentence: SentenceRecord, spans: Sequence[GoldSpanRecord], linked: frozenset[str] | None = None
) -> tuple[list[tuple[GoldSpanRecord, Span]], list[dict[str, Any]]]:
    """Strictly aligned spans, and a problem entry for each span that is not.

    ``linked``: the labels whose value becomes the span's ``kb_id_`` (default: ``linked_labels``' of the
    export running, else the default scheme's region labels; an export passes them once for all sentences).
    """
    aligned, problems = [], []
    text = sentence.text
    if linked is None:
        linked = linked_label_names()
    for span in spans:
        start, end = span.start_char, span.end_char
        in_range = 0 <= start < end <= len(text)
        problem = None
        if not in_range:
            problem = "offsets outside the sentence"
        elif text[start].isspace() or text[end - 1].isspace():
            problem = "white space at the edge of the span"
        else:
            kb_id = span.value if span.label in linked and span.value else 0
            token_span = doc.char_span(start, end, span.label, kb_id=kb_id, alignment_mode="strict")
            if token_span is None:
                problem = "not on token boundaries"
            else:
                aligned.append((span, token_span))
        if problem is not None:
            expanded = doc.char_span(start, end, alignment_mode="expand") if in_range else None
            problems.append(
                {
                    "sentence_id": sentence.id,
                    "report_id": sentence.report_id,
                    "span": _span_dict(span),
                    "text": text[start:end],
                    "problem": problem,
                    "tokens": [t.text for t in expanded] if expanded is not None else [],  # what it straddles
                }
            )
    return aligned, problems


def overlapping_pairs(sentence: SentenceRecord, spans: Sequence[GoldSpanRecord]) -> list[dict[str, Any]]:
    """Every pair of overlapping spans (char offsets), as a conflict entry."""
    if len(spans) < 2:  # most sentences
        return []
    found = []
    ordered = sorted(spans, key=lambda s: (s.start_char, s.end_char, s.label))
    for i, first in enumerate(ordered):
        for second in ordered[i + 1 :]:
            if second.start_char >= first.end_char:
                break
            pair = [{**_span_dict(s), "text": sentence.text[s.start_char : s.end_char]} for s in (first, second)]
            found.append({"sentence_id": sentence.id, "report_id": sentence.report_id, "spans": pair})
    return found


def annotate_doc(doc: Doc, task: str, aligned: Sequence[tuple[GoldSpanRecord, Span]], **user_data) -> Doc:
    """Set the aligned spans on ``doc`` (as ents under ner, in ``doc.spans`` under spancat) and its user data.

    ``doc.user_data`` gets ``user_data`` (project, report_id, sentence_id, gold_source, incidents) and
    ``values``: each span's value by ``"start:end:LABEL"``.
    """
    token_spans = [token_span for _, token_span in aligned]
    if task == "ner":  # tokens outside every span are "O" (known outside), not missing
        doc.set_ents(token_spans, default="outside")
    else:
        doc.spans[SPANS_KEY] = token_spans
    values = {f"{s.start_char}:{s.end_char}:{s.label}": s.value for s, _ in aligned if s.value is not None}
    doc.user_data.update(user_data, values=values)
    return doc


def source_kind(source: str | None) -> str:
    return "annotator" if source and source.startswith(ANNOTATOR_PREFIX) else str(source)


def prodigy_record(
    doc: Doc,
    sentence: SentenceRecord,
    annotations: Sequence[AnnotationRecord],
    spans: Sequence[GoldSpanRecord],
    resolution: Resolution,
    excluded: str | None,
) -> dict[str, Any]:
    """A Prodigy task: tokens, gold spans (token_end inclusive) and relations, each annotator's spans and relations.

    ``relations`` is Prodigy's ``rel.manual`` shape: per link of an incident (its head to each other span,
    ``annotator.incidents.incident_relations``), ``head_span`` and ``child_span`` (as in ``spans``),
    ``head`` and ``child`` (the index of each span's last token, as Prodigy writes them; left out of a
    span that is not on token boundaries) and ``label`` (``outcome`` or ``location``).

    Exported sentences are answered "accept"; excluded ones "ignore", so that
    Prodigy's training recipes do not learn them as negatives.
    """
    from spacy.attrs import IDX, LENGTH, SPACY

    meta: dict[str, Any] = {"sentence_id": sentence.id, "report_id": sentence.report_id}
    meta.update({"gold_source": resolution.source} if excluded is None else {"excluded": excluded})
    text = sentence.text  # the Doc's text: it was made from it
    tokens = []
    starts: dict[int, int] = {}  # token index by start offset, and by end offset: strict alignment
    ends: dict[int, int] = {}
    # One array of offsets rather than a Token object per token (most of this function's time otherwise).
    for i, (start, length, space) in enumerate(doc.to_array([IDX, LENGTH, SPACY]).tolist()):
        end = start + length
        tokens.append({"text": text[start:end], "start": start, "end": end, "id": i, "ws": space == 1})
        starts[start] = ends[end] = i
    return {
        "text": sentence.text,
        "tokens": tokens,
        "spans": (gold_spans := [_prodigy_span(starts, ends, s) for s in spans]),
        "relations": _prodigy_relations(gold_spans, resolution.incidents),
        "meta": meta,
        "answer": "accept" if excluded is None else "ignore",
        "_annotators": {
            a.annotator: {
                "status": a.status,
                "spans": (own := [_prodigy_span(starts, ends, s) for s in a.spans]),
                "relations": _prodigy_relations(own, a.incidents),
            }
            for a in sorted(annotations, key=lambda a: a.annotator)
        },
    }


def _prodigy_span(
    starts: Mapping[int, int], ends: Mapping[int, int], span: SpanRecord | GoldSpanRecord
) -> dict[str, Any]:
    """A Prodigy span; token indices only where the span aligns strictly.

    ``starts`` and ``ends`` map a token's first and end (exclusive) character
    offsets to its index: a span aligns strictly when it starts where a token
    starts and ends where a token ends, as ``Doc.char_span(..., "strict")``
    decides, without building a Span (or the Doc's text) per span.
    """
    out: dict[str, Any] = {"start": span.start_char, "end": span.end_char, "label": span.label}
    if span.start_char < span.end_char:
        token_start, token_end = starts.get(span.start_char), ends.get(span.end_char)
        if token_start is not None and token_end is not None:
            out["token_start"], out["token_end"] = token_start, token_end
    if span.value is not None:
        out["value"] = span.value
    return out


def _prodigy_relations(spans: Sequence[dict[str, Any]], incidents: Sequence[IncidentRecord]) -> list[dict[str, Any]]:
    """The Prodigy relations of ``incidents`` (see ``prodigy_record``); ``spans`` are the Prodigy spans they link."""
    if not incidents:  # most sentences: nothing to build
        return []
    by_key = {(s["start"], s["end"], s["label"]): s for s in spans}
    out = []
    for relation in incident_relations(incidents, export_scheme()):
        head, child = (
            by_key.get(key) or {"start": key[0], "end": key[1], "label": key[2]}
            for key in (relation.head, relation.child)
        )
        item: dict[str, Any] = {
            side: span["token_end"] for side, span in (("head", head), ("child", child)) if "token_end" in span
        }
        item.update(head_span=head, child_span=child, label=relation.label)
        out.append(item)
    return out


def _span_dict(span: GoldSpanRecord) -> dict[str, Any]:
    return {"start_char": span.start_char, "end_char": span.end_char, "label": span.label}


_JSON = json.JSONEncoder(ensure_ascii=False)  # json.dumps(record, ensure_ascii=False), without a new encoder per line
_STRING = json.encoder.encode_basestring  # how _JSON writes a str (ensure_ascii=False)
_WS = ("false", "true")  # a token's SPACY flag (0 or 1) as JSON
_ANSWER = ('"ignore"', '"accept"')  # by whether the sentence is exported


def jsonl_line(record: dict[str, Any]) -> str:
    return _escape_separators(_JSON.encode(record)) + "\n"


def _escape_separators(line: str) -> str:
    """Escape the line separators that str.splitlines() would break a line on."""
    for char in ("\u2028", "\u2029", "\x85"):
        if char in line:
            line = line.replace(char, f"\\u{ord(char):04x}")
    return line


def prodigy_line(
    doc: Doc,
    sentence: SentenceRecord,
    annotations: Sequence[AnnotationRecord],
    spans: Sequence[GoldSpanRecord],
    resolution: Resolution,
    excluded: str | None,
) -> str:
    """``jsonl_line(prodigy_record(...))`` with the same arguments, character for character, written directly.

    The line of annotations.jsonl an export writes for a sentence. A token or span is written from a
    template rather than made into a dict for ``json`` to encode (most of a record's length is its
    tokens: ~35 µs a sentence less); what is rare (relations, values, the meta) goes through ``json``.
    """
    from spacy.attrs import IDX, LENGTH, SPACY

    text = sentence.text
    tokens = []
    starts: dict[int, int] = {}  # token index by start offset, and by end offset, as prodigy_record
    ends: dict[int, int] = {}
    for i, (start, length, space) in enumerate(doc.to_array([IDX, LENGTH, SPACY]).tolist()):
        end = start + length
        tokens.append(
            f'{{"text": {_STRING(text[start:end])}, "start": {start}, "end": {end}, "id": {i}, "ws": {_WS[space]}}}'
        )
        starts[start] = ends[end] = i
    meta: dict[str, Any] = {"sentence_id": sentence.id, "report_id": sentence.report_id}
    meta.update({"gold_source": resolution.source} if excluded is None else {"excluded": excluded})
    own: dict[str, str] = {}  # as prodigy_record's dict: one entry per annotator, in name order
    for a in sorted(annotations, key=lambda a: a.annotator):
        own[a.annotator] = (
            f'{{"status": {_JSON.encode(a.status)}, "spans": {_spans_json(starts, ends, a.spans)}, '
            f'"relations": {_relations_json(starts, ends, a.spans, a.incidents)}}}'
        )
    annotators = ", ".join(f"{_STRING(name)}: {value}" for name, value in own.items())
    return (
        _escape_separators(
            f'{{"text": {_STRING(text)}, "tokens": [{", ".join(tokens)}], '
            f'"spans": {_spans_json(starts, ends, spans)}, '
            f'"relations": {_relations_json(starts, ends, spans, resolution.incidents)}, '
            f'"meta": {_JSON.encode(meta)}, "answer": {_ANSWER[excluded is None]}, "_annotators": {{{annotators}}}}}'
        )
        + "\n"
    )


def _spans_json(
    starts: Mapping[int, int], ends: Mapping[int, int], spans: Sequence[SpanRecord | GoldSpanRecord]
) -> str:
    """The JSON of ``[_prodigy_span(starts, ends, s) for s in spans]``."""
    out = []
    for span in spans:
        start, end = span.start_char, span.end_char
        item = f'{{"start": {start}, "end": {end}, "label": {_STRING(span.label)}'
        if start < end:
            token_start, token_end = starts.get(start), ends.get(end)
            if token_start is not None and token_end is not None:
                item += f', "token_start": {token_start}, "token_end": {token_end}'
        if span.value is not None:
            item += f', "value": {_JSON.encode(span.value)}'
        out.append(item + "}")
    return f"[{', '.join(out)}]"


def _relations_json(
    starts: Mapping[int, int],
    ends: Mapping[int, int],
    spans: Sequence[SpanRecord | GoldSpanRecord],
    incidents: Sequence[IncidentRecord],
) -> str:
    """The JSON of ``_prodigy_relations`` of ``spans`` and ``incidents``."""
    if not incidents:  # most sentences
        return "[]"
    return _JSON.encode(_prodigy_relations([_prodigy_span(starts, ends, s) for s in spans], incidents))
