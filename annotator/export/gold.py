"""Gold policy resolution: which spans of a sentence count as the truth.

A *policy* turns one sentence's annotations (one ``AnnotationRecord`` per
annotator) and its optional adjudication (``GoldRecord``) into a
``Resolution``: either the sentence's gold spans and where they came from, or
the reason the sentence is left out of an export.

Policies
--------
Each policy is an entry of ``POLICIES`` (name -> ``GoldPolicy``: its resolver and a one-line
description); ``annotator:NAME`` is the parametrised entry ``annotator``.

``"adjudicated"``
    Only reviewed sentences: the ``GoldRecord``'s spans, else excluded with
    ``"no adjudication"``.
``"majority"`` (the default)
    The adjudication where one exists; otherwise a vote (see below).
``"unanimous"``
    The adjudication where one exists (a reviewer's word outranks any vote);
    otherwise the span set on which *all* voters agree exactly, else excluded
    with ``"not unanimous"``.
``"annotator:NAME"``
    One annotator's own spans, ignoring adjudication and the others (for
    comparing a person against the rest), else excluded with
    ``"not annotated by NAME"`` or ``"skipped by NAME"``.

Votes
-----
A *voter* is an annotator whose status is ``"done"`` or ``"flagged"``;
``"skipped"`` (or any other status) never votes. A span is identified by its
exact ``(start_char, end_char, label)``: ``(0, 5, REGION)`` and
``(0, 6, REGION)`` are different spans, and a vote for one is not a vote for
the other. With ``n`` voters, a span is

* **in** when more than ``n / 2`` voters have it exactly,
* **out** when fewer than ``n / 2`` have it (the majority left it out),
* **tied** when exactly ``n / 2`` have it.

Under the majority vote a sentence with at least one voter is included with
its *in* spans, unless some span is tied: then no majority decides whether
that text is a span or not, and exporting the sentence would teach either a
false positive or a false negative, so it is excluded with ``"no majority"``.
(Two voters who disagree in any way therefore exclude the sentence.) A voter
who marks no spans votes for a negative: a sentence all voters finished
without spans is included with zero spans. A sentence that any voter
flagged and no reviewer has adjudicated yet is excluded with
``"flagged, awaiting review"``: a flag is a question to the reviewer, and a
vote would answer it silently (outvoting the flagged spans, or exporting
spans their own annotator doubts).

The ``source`` of a voted sentence is ``"single annotator"`` when it has one
voter (nobody agreed with them: their spans are not a consensus),
``"unanimous"`` when two or more voters' span sets are identical and
``"majority"`` otherwise; each span's ``provenance`` is, in the same way,
``"single annotator"``, ``"unanimous"`` (every voter has it) or
``"majority"``.
Adjudicated spans get provenance ``"adjudicated"``, one annotator's spans
``"annotator"``.

Incidents
---------
A ``Resolution`` also carries the sentence's gold incidents (``annotator.incidents``): the
adjudication's incidents as stored (provenance ``"adjudicated"`` where none was stored); under a
vote, the incidents (the same group of spans exactly) that more than half of the voters have
(``majority``) or that all have (``unanimous``, which only resolves a sentence all voters agree on),
of which every span is in the resolved gold, with provenance as for spans; under ``annotator:NAME``,
NAME's incidents whose spans are in their gold (provenance ``"annotator"``). An incident that only
half of the voters have is left out without excluding the sentence: its spans are gold either way.

Values
------
A span's normalised ``value`` comes from the annotators who have that exact
span: among their non-``None`` values, the one held by more than half of
them; ``None`` when none is, or when nobody gave one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from ..limits import text_problem
from ..records import AnnotationRecord, GoldRecord, GoldSpanRecord, IncidentRecord, SentenceRecord

ANNOTATOR_PREFIX = "annotator:"
DEFAULT_POLICY = "majority"
VOTING_STATUSES = frozenset({"done", "flagged"})
SINGLE = "single annotator"
FLAGGED = "flagged, awaiting review"

SpanKey = tuple[int, int, str]  # (start_char, end_char, label)


@dataclass(frozen=True)
class Resolution:
    """The gold of one sentence under one policy, or why there is none.

    Exactly one of ``source`` and ``excluded`` is set. ``source`` is the gold
    source written to the export: ``"adjudicated"``, ``"unanimous"``,
    ``"majority"`` or ``"annotator:NAME"``. An included sentence may have
    zero spans: it is then a negative example.
    """

    sentence_id: int
    spans: tuple[GoldSpanRecord, ...] = ()
    source: str | None = None
    excluded: str | None = None
    incidents: tuple[IncidentRecord, ...] = ()  # groups of ``spans``' keys, each with its provenance

    @property
    def included(self) -> bool:
        return self.excluded is None


# (sentence id, its annotations by annotator, its adjudication or None, the policy's argument or None) -> Resolution
Resolver = Callable[[int, Mapping[str, AnnotationRecord], GoldRecord | None, str | None], Resolution]


@dataclass(frozen=True)
class GoldPolicy:
    """A gold policy: its name, how it resolves a sentence, and a one-line description.

    A parametrised policy is spelled ``NAME:ARGUMENT`` (``annotator:ana``); ``argument`` names
    what follows the colon, for help texts.
    """

    name: str
    resolve: Resolver
    description: str
    argument: str | None = None

    @property
    def spelled(self) -> str:
        """How the policy is written: ``majority``, ``annotator:NAME``."""
        return self.name if self.argument is None else f"{self.name}:{self.argument}"


def _adjudicated(sentence_id: int, gold: GoldRecord) -> Resolution:
    spans = tuple(
        GoldSpanRecord(s.start_char, s.end_char, s.label, s.value, provenance="adjudicated")
        for s in sorted(gold.spans, key=_gold_key)
    )
    keys = {_gold_key(span) for span in spans}
    incidents = tuple(
        IncidentRecord(tuple(sorted(i.spans)), i.provenance or "adjudicated")
        for i in gold.incidents
        if set(i.spans) <= keys
    )
    return Resolution(sentence_id, spans, source="adjudicated", incidents=incidents)


def _resolve_adjudicated(
    sentence_id: int, by_annotator: Mapping[str, AnnotationRecord], gold: GoldRecord | None, argument: str | None
) -> Resolution:
    if gold is not None:
        return _adjudicated(sentence_id, gold)
    return Resolution(sentence_id, excluded="no adjudication")


def _gold_else_vote(*, unanimous_only: bool) -> Resolver:
    """A voting policy: the adjudication where one exists (a reviewer's word outranks any vote), else the vote."""

    def resolve(
        sentence_id: int, by_annotator: Mapping[str, AnnotationRecord], gold: GoldRecord | None, argument: str | None
    ) -> Resolution:
        if gold is not None:
            return _adjudicated(sentence_id, gold)
        return _resolve_vote(sentence_id, by_annotator, unanimous_only=unanimous_only)

    return resolve


def _resolve_annotator(
    sentence_id: int, by_annotator: Mapping[str, AnnotationRecord], gold: GoldRecord | None, name: str | None
) -> Resolution:
    """``annotator:NAME``: NAME's own spans; the adjudication and the other annotators are ignored."""
    name = name or ""
    annotation = by_annotator.get(name)
    if annotation is None:
        return Resolution(sentence_id, excluded=f"not annotated by {name}")
    if annotation.status not in VOTING_STATUSES:
        return Resolution(sentence_id, excluded=f"{annotation.status} by {name}")
    votes = _span_values(annotation)
    spans = tuple(
        GoldSpanRecord(*key, value=_consensus_value(votes[key]), provenance="annotator") for key in sorted(votes)
    )
    incidents = _voted_incidents([annotation], set(votes), 1, lambda n: "annotator")
    return Resolution(sentence_id, spans, source=f"{ANNOTATOR_PREFIX}{name}", incidents=incidents)


POLICIES: dict[str, GoldPolicy] = {
    p.name: p
    for p in (
        GoldPolicy("adjudicated", _resolve_adjudicated, "only reviewed sentences, with the reviewer's gold"),
        GoldPolicy(
            "majority",
            _gold_else_vote(unanimous_only=False),
            "the reviewer's gold where there is one, else the majority vote",
        ),
        GoldPolicy(
            "unanimous",
            _gold_else_vote(unanimous_only=True),
            "the reviewer's gold where there is one, else what all agree on",
        ),
        GoldPolicy(
            "annotator",
            _resolve_annotator,
            "one annotator's own spans, ignoring the reviewer and the others",
            argument="NAME",
        ),
    )
}
"""The gold policies by name (see the module doc). To add a policy, add an entry: ``check_policy``,
``resolve_gold``, ``annotator export --policy`` and the export form read this table."""


def policies_text() -> str:
    """``adjudicated, majority, unanimous or annotator:NAME``: the policies for a message."""
    *rest, last = (p.spelled for p in POLICIES.values())
    return f"{', '.join(rest)} or {last}" if rest else last


def _lookup(policy: str) -> tuple[GoldPolicy, str | None]:
    """The table entry of ``policy`` and its argument (None for a plain policy); ValueError if unknown."""
    found = _LOOKED_UP.get(policy)
    if found is None or POLICIES.get(found[0].name) is not found[0]:  # new, or its entry replaced since
        found = _LOOKED_UP[policy] = _parse_policy(policy)
    return found


_LOOKED_UP: dict[str, tuple[GoldPolicy, str | None]] = {}  # resolve_gold runs per sentence: parse a policy once


def _parse_policy(policy: str) -> tuple[GoldPolicy, str | None]:
    name, colon, argument = policy.partition(":")
    entry = POLICIES.get(name)
    if entry is not None and bool(colon) == (entry.argument is not None):
        if not colon:
            return entry, None
        if argument.strip():
            problem = text_problem(argument)  # no name holds it, and no database takes it as a parameter
            if problem is not None:
                raise ValueError(f"gold policy {policy!r}: the annotator name {problem}")
            return entry, argument
    raise ValueError(f"unknown gold policy {policy!r}: use one of {policies_text()}")


def check_policy(policy: str) -> str:
    """Return ``policy`` if it is known, else raise ``ValueError``."""
    _lookup(policy)
    return policy


def policy_argument(policy: str) -> str | None:
    """The argument of a parametrised policy (the NAME of ``annotator:NAME``), None for a plain one;
    ``ValueError`` if ``policy`` is unknown."""
    return _lookup(policy)[1]


def resolve_gold(
    sentence: SentenceRecord,
    annotations: Iterable[AnnotationRecord],
    gold: GoldRecord | None = None,
    policy: str = DEFAULT_POLICY,
) -> Resolution:
    """Resolve one sentence's gold spans under ``policy`` (see the module doc).

    ``annotations`` are this sentence's annotations, at most one per
    annotator. Raises ``ValueError`` for an unknown policy, a record that
    belongs to another sentence, or two annotations by the same annotator.
    """
    entry, argument = _lookup(policy)
    by_annotator = _by_annotator(sentence, annotations)
    if gold is not None and gold.sentence_id != sentence.id:
        raise ValueError(f"gold of sentence {gold.sentence_id} given for sentence {sentence.id}")
    return entry.resolve(sentence.id, by_annotator, gold, argument)


def _by_annotator(sentence: SentenceRecord, annotations: Iterable[AnnotationRecord]) -> dict[str, AnnotationRecord]:
    by_annotator: dict[str, AnnotationRecord] = {}
    for annotation in annotations:
        if annotation.sentence_id != sentence.id:
            raise ValueError(f"annotation of sentence {annotation.sentence_id} given for sentence {sentence.id}")
        if annotation.annotator in by_annotator:
            raise ValueError(f"sentence {sentence.id} has two annotations by {annotation.annotator!r}")
        by_annotator[annotation.annotator] = annotation
    return by_annotator


def _resolve_vote(
    sentence_id: int, by_annotator: Mapping[str, AnnotationRecord], *, unanimous_only: bool
) -> Resolution:
    if not by_annotator:
        return Resolution(sentence_id, excluded="no annotations")
    voters = [a for a in by_annotator.values() if a.status in VOTING_STATUSES]
    if not voters:
        return Resolution(sentence_id, excluded="skipped by all")

    for a in voters:
        if a.status == "flagged":
            return Resolution(sentence_id, excluded=FLAGGED)
    span_sets = [_span_values(a) for a in voters]
    first = span_sets[0].keys()
    unanimous = all(s.keys() == first for s in span_sets)
    if unanimous_only and not unanimous:
        return Resolution(sentence_id, excluded="not unanimous")

    n_voters = len(voters)
    counts: dict[SpanKey, int] = {}
    for span_set in span_sets:
        for key in span_set:
            counts[key] = counts.get(key, 0) + 1
    for n in counts.values():
        if 2 * n == n_voters:
            return Resolution(sentence_id, excluded="no majority")
    spans = []
    for key in sorted(k for k, n in counts.items() if 2 * n > n_voters):
        values = [v for span_set in span_sets for v in span_set.get(key, ())]
        provenance = SINGLE if n_voters == 1 else "unanimous" if counts[key] == n_voters else "majority"
        spans.append(GoldSpanRecord(*key, value=_consensus_value(values), provenance=provenance))
    source = SINGLE if n_voters == 1 else "unanimous" if unanimous else "majority"
    if not any(a.incidents for a in voters):  # most sentences: no incident to count
        return Resolution(sentence_id, tuple(spans), source=source)

    def incident_provenance(n: int) -> str:
        return SINGLE if n_voters == 1 else "unanimous" if n == n_voters else "majority"

    incidents = _voted_incidents(
        voters,
        {_gold_key(span) for span in spans},
        n_voters if unanimous_only else n_voters // 2 + 1,
        incident_provenance,
    )
    return Resolution(sentence_id, tuple(spans), source=source, incidents=incidents)


def _voted_incidents(
    voters: Iterable[AnnotationRecord], gold_keys: set[SpanKey], needed: int, provenance: Callable[[int], str]
) -> tuple[IncidentRecord, ...]:
    """The incidents at least ``needed`` voters have (the same group exactly), all of whose spans are gold."""
    voters = [voter for voter in voters if voter.incidents]
    if not voters:  # most sentences: nothing to count
        return ()
    votes = Counter(group for voter in voters for group in {tuple(sorted(i.spans)) for i in voter.incidents})
    return tuple(
        IncidentRecord(group, provenance(n))
        for group, n in sorted(votes.items())
        if n >= needed and set(group) <= gold_keys
    )


def _span_values(annotation: AnnotationRecord) -> dict[SpanKey, list[str | None]]:
    """One annotator's spans as a set of keys, each with the value(s) given.

    A span the annotator entered twice still counts as one vote.
    """
    values: dict[SpanKey, list[str | None]] = {}
    for span in annotation.spans:
        values.setdefault((span.start_char, span.end_char, span.label), []).append(span.value)
    return values


def _consensus_value(values: Iterable[str | None]) -> str | None:
    """The non-None value held by more than half of those who gave one."""
    given_values = [v for v in values if v is not None]
    if len(given_values) < 2:  # most spans: none given, or one
        return given_values[0] if given_values else None
    given = Counter(given_values)
    value, n = given.most_common(1)[0]
    return value if 2 * n > sum(given.values()) else None


def _gold_key(span: GoldSpanRecord) -> SpanKey:
    return (span.start_char, span.end_char, span.label)
