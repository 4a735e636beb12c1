"""Where annotators disagree, sentence by sentence, from plain records.

The spans of a sentence's annotators fall into *regions*: groups of spans
linked by overlap (offsets are code points, ``end_char`` exclusive). In a
region every annotator has a *version*, the spans they marked there (maybe
none). A region where all versions are the same, values included, is
agreed; any other region is a *disagreement* (listed under the key ``conflicts``,
which the review page and API clients read), of one or more types:

- ``label``: the same extent with another label (or an overlapping span
  with another label and other extent, which is also ``boundary``);
- ``presence``: a span some annotators have that overlaps nothing of
  another annotator's version (including an empty one);
- ``boundary``: the same label, overlapping, different extents;
- ``value``: the same span with another normalised value.

A disagreement's severity is the sum of its type weights times the share of
annotators outside the largest group of identical versions; a sentence's is
the sum over its disagreements. Only annotations with status "done" or
"flagged" count.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import combinations
from typing import Any

from ..records import AnnotationRecord, SentenceRecord, SpanRecord
from .summary import pair_key

COUNTED = frozenset({"done", "flagged"})
TYPES = ("label", "presence", "boundary", "value")  # most severe first
HAS = ("comment", "flagged")  # the disagreement list's "has" filter
WEIGHTS = {"label": 3.0, "presence": 2.0, "boundary": 1.0, "value": 0.5}

Key = tuple[int, int, str]


def review_order(
    sentence_id: int,
    severity: float,
    *,
    flagged: bool = False,
    changed_since_gold: bool = False,
    settled: bool = False,
    needs_review: bool = False,
) -> tuple:
    """The sort key of every list of sentences for a reviewer (the review queue, the disagreement list).

    Flagged first (a flag the gold has not answered yet: a question waits for the reviewer), then
    changed after their gold, then still to adjudicate before settled (gold that answers every
    version), then worst disagreement first (``severity``), then routed for review, then sentence id.
    """
    return (not flagged, not changed_since_gold, settled, -severity, not needs_review, sentence_id)


def span_dict(span: SpanRecord, text: str | None = None) -> dict[str, Any]:
    """The span as a dict: offsets, label, value, its ``text`` when given, and where it came from
    (``source``, ``model_version``) when it was an accepted suggestion."""
    out: dict[str, Any] = {"start_char": span.start_char, "end_char": span.end_char, "label": span.label}
    out["value"] = span.value
    if text is not None:
        out["text"] = text[span.start_char : span.end_char]
    if span.source is not None:
        out["source"] = span.source
        if span.model_version is not None:
            out["model_version"] = span.model_version
    return out


def _key(span: SpanRecord) -> Key:
    return (span.start_char, span.end_char, span.label)


def _overlaps(a: Key, b: Key) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _regions(keys: Iterable[Key]) -> list[list[Key]]:
    """Distinct keys grouped by chains of overlap, in text order."""
    regions: list[list[Key]] = []
    end = -1
    for key in sorted(set(keys)):
        if regions and key[0] < end:
            regions[-1].append(key)
            end = max(end, key[1])
        else:
            regions.append([key])
            end = key[1]
    return regions


def _pair_types(a: dict[Key, Any], b: dict[Key, Any]) -> set[str]:
    """Disagreement types between two annotators' versions of one region."""
    found: set[str] = set()
    for mine, theirs in ((a, b), (b, a)):
        for key in mine:
            if key in theirs:
                if mine[key] != theirs[key]:
                    found.add("value")
                continue
            near = [other for other in theirs if _overlaps(key, other)]
            if not near:
                found.add("presence")
            for other in near:
                if other[2] != key[2]:
                    found.add("label")
                if other[:2] != key[:2]:
                    found.add("boundary")
    return found


def sentence_disagreements(text: str, annotations: Iterable[AnnotationRecord]) -> dict[str, Any]:
    """One sentence: ``{"annotators", "flagged_by", "comments", "agreed", "conflicts", "single", "severity"}``.

    ``annotations`` are the sentence's, one per annotator; those not done or
    flagged are ignored. ``agreed`` are the spans of regions where every
    annotator's version is the same; each conflict holds its ``types``
    (most severe first), its ``type`` (the first), ``start_char``/
    ``end_char`` of the region, ``labels``, every annotator's version
    (``versions``: name -> spans), the ``pairs`` ("A|B", sorted) whose
    versions differ, and its ``severity``. With a single voter there is no
    agreement and no conflict: ``single`` holds their regions (start_char,
    end_char, labels, versions), for a reviewer to confirm. ``comments``:
    name -> the voter's comment, for those who left one.
    """
    voters = {a.annotator: a for a in annotations if a.status in COUNTED}
    names = sorted(voters)
    flagged = [n for n in names if voters[n].status == "flagged"]
    comments = {n: voters[n].comment for n in names if voters[n].comment}
    by_name = {n: {_key(s): s for s in voters[n].spans} for n in names}
    agreed: list[dict[str, Any]] = []
    conflicts: list[dict[str, Any]] = []
    single: list[dict[str, Any]] = []
    for region in _regions(k for spans in by_name.values() for k in spans):
        inside = set(region)
        versions = {n: {k: s.value for k, s in by_name[n].items() if k in inside} for n in names}
        frozen = {n: tuple(sorted(v.items())) for n, v in versions.items()}
        groups = Counter(frozen.values())
        if len(groups) == 1 and len(names) >= 2:
            first = by_name[names[0]]
            agreed.extend(span_dict(first[k], text) for k in sorted(versions[names[0]]))
            continue
        if len(names) < 2:
            # One voter: nobody agreed or disagreed, and nothing is settled. The
            # region is offered for the reviewer to confirm, never dropped.
            single.append(
                {
                    "start_char": min(k[0] for k in region),
                    "end_char": max(k[1] for k in region),
                    "labels": sorted({k[2] for k in region}),
                    "versions": {n: [span_dict(by_name[n][k], text) for k in sorted(versions[n])] for n in names},
                }
            )
            continue
        types: set[str] = set()
        pairs = []
        for a, b in combinations(names, 2):
            if frozen[a] != frozen[b]:
                types |= _pair_types(versions[a], versions[b])
                pairs.append(pair_key(a, b))
        ordered = [t for t in TYPES if t in types]
        dissent = 1 - max(groups.values()) / len(names)
        conflicts.append(
            {
                "type": ordered[0],
                "types": ordered,
                "start_char": min(k[0] for k in region),
                "end_char": max(k[1] for k in region),
                "labels": sorted({k[2] for k in region}),
                "versions": {n: [span_dict(by_name[n][k], text) for k in sorted(versions[n])] for n in names},
                "pairs": pairs,
                "severity": sum(WEIGHTS[t] for t in ordered) * dissent,
            }
        )
    return {
        "annotators": names,
        "flagged_by": flagged,
        "comments": comments,
        "agreed": agreed,
        "conflicts": conflicts,
        "single": single,
        "severity": sum(c["severity"] for c in conflicts),
    }


def disagreements(
    sentences: Sequence[SentenceRecord],
    annotations: Iterable[AnnotationRecord],
    labels: Iterable[str] | None = None,
    *,
    pair: Sequence[str] | None = None,
    types: Iterable[str] | None = None,
    has: str | None = None,
) -> list[dict[str, Any]]:
    """Sentences with conflicts, and flagged ones (a flag is a question to the reviewer), flagged first.

    Each item: ``sentence_id``, ``text``, ``annotators``, ``flagged_by``,
    ``comments``, ``severity``, ``types`` and ``conflicts`` (see
    ``sentence_disagreements``). Filters keep only conflicts that involve one of
    ``labels``, whose versions differ between the two annotators of
    ``pair``, or that have one of ``types``; a sentence left with no
    conflict is dropped (a flagged one is kept only while no such filter is
    set) and severities are summed over the conflicts kept. ``has``
    ("comment" or "flagged") keeps sentences where an annotator left a
    comment or flagged it. In ``review_order``: flagged first, then worst
    first, then by sentence id. Raises ValueError for an unknown type,
    ``has`` or a ``pair`` that is not two names.
    """
    if has not in (None, *HAS):
        raise ValueError(f"has is one of {', '.join(HAS)}; got {has!r}")
    conflict_filter = labels is not None or types is not None or pair is not None
    wanted_labels = None if labels is None else set(labels)
    wanted_types = None if types is None else set(types)
    if wanted_types is not None and not wanted_types <= set(TYPES):
        raise ValueError(f"conflict types are {', '.join(TYPES)}; got {', '.join(sorted(wanted_types - set(TYPES)))}")
    wanted_pair = None
    if pair is not None:
        if len(pair) != 2 or pair[0] == pair[1]:
            raise ValueError("pair must name two different annotators")
        wanted_pair = pair_key(*sorted(pair))
    by_sentence: dict[int, list[AnnotationRecord]] = {}
    for annotation in annotations:
        by_sentence.setdefault(annotation.sentence_id, []).append(annotation)
    found = []
    for sentence in sentences:
        held = by_sentence.get(sentence.id)
        if not held:
            continue
        result = sentence_disagreements(sentence.text, held)
        if has == "comment" and not result["comments"] or has == "flagged" and not result["flagged_by"]:
            continue
        kept = [
            c
            for c in result["conflicts"]
            if (wanted_labels is None or wanted_labels & set(c["labels"]))
            and (wanted_types is None or wanted_types & set(c["types"]))
            and (wanted_pair is None or wanted_pair in c["pairs"])
        ]
        if not kept and (conflict_filter or not result["flagged_by"]):
            continue
        found.append(
            {
                "sentence_id": sentence.id,
                "text": sentence.text,
                "annotators": result["annotators"],
                "flagged_by": result["flagged_by"],
                "comments": result["comments"],
                "single": result["single"] if not result["conflicts"] else [],
                "severity": sum(c["severity"] for c in kept),
                "types": [t for t in TYPES if any(t in c["types"] for c in kept)],
                "conflicts": kept,
            }
        )
    found.sort(key=lambda item: review_order(item["sentence_id"], item["severity"], flagged=bool(item["flagged_by"])))
    return found


# --- Link disagreements: the same spans, grouped into incidents differently -----------------

LINK = "link"
LINK_WEIGHT = 2.0


def link_disagreement(text: str, annotations: Iterable[AnnotationRecord]) -> dict[str, Any] | None:
    """A disagreement of type ``link`` when the counted annotators' spans agree but their incidents differ.

    Two or more done or flagged annotations whose span keys are the same and whose incident groups
    (``AnnotationRecord.incidents``) are not: a conflict shaped like :func:`sentence_disagreements`'
    (``type``, ``types``, ``start_char``/``end_char`` spanning the incidents' spans, ``labels``,
    ``pairs``, ``severity``), its ``versions`` each annotator's incidents as lists of span dicts.
    None otherwise: a sentence whose spans differ has its span conflicts first.
    """
    voters = {a.annotator: a for a in annotations if a.status in COUNTED}
    names = sorted(voters)
    if len(names) < 2:
        return None
    if len({frozenset(_key(s) for s in voters[n].spans) for n in names}) != 1:
        return None
    groups = {n: frozenset(i.spans for i in voters[n].incidents) for n in names}
    if len(set(groups.values())) == 1:
        return None
    keys = sorted({k for g in groups.values() for incident in g for k in incident})
    by_key = {_key(s): s for s in voters[names[0]].spans}
    pairs = [pair_key(a, b) for a, b in combinations(names, 2) if groups[a] != groups[b]]
    dissent = 1 - max(Counter(groups.values()).values()) / len(names)
    return {
        "type": LINK,
        "types": [LINK],
        "start_char": min(k[0] for k in keys),
        "end_char": max(k[1] for k in keys),
        "labels": sorted({k[2] for k in keys}),
        "versions": {
            n: [[span_dict(by_key[k], text) for k in incident] for incident in sorted(groups[n])] for n in names
        },
        "pairs": pairs,
        "severity": LINK_WEIGHT * dissent,
    }
