"""Adjudication: what the adjudication page shows, and storing the reviewer's gold with its history.

Functions take the session and never commit; the view that calls them owns
the transaction. The review queue that leads here is ``services.review``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.orm import Session

from ..limits import DEFAULT_LIMITS, MAX_ROW_ID, Limits, is_int, join_capped, text_problem
from ..metrics.disagreements import COUNTED, link_disagreement, sentence_disagreements
from ..models import Annotation, GoldAnnotation, GoldAnswer, GoldSpan, Project, Sentence, User, utcnow
from ..records import IncidentRecord, SpanKey
from .annotations import span_values, validate_spans
from .audit import record
from .incident_links import InvalidIncidents, checked_incidents, incidents_column, pruned, stored_incidents
from .label_scheme import confirm_scheme, hold_scheme
from .review import changed_since_gold, project_labels
from .rows import project_records as load_records
from .rows import sentence_window

REASONS = ("guideline", "boundary", "label", "value", "typo", "other")


class AdjudicationError(ValueError):
    """A gold decision that cannot be stored as sent (bad span, label or reason)."""


class StaleGold(RuntimeError):
    """The gold is not at the version the page was loaded with (``expected``; None or 0: no gold).

    ``current`` is its version now: None when there is no gold, or when another reviewer's save moved it on
    at the same moment (``raced``).
    """

    def __init__(self, current: int | None, expected: int | None, *, raced: bool = False):
        if raced:
            what = "another reviewer saved this sentence's gold at the same moment"
        elif current is None:
            what = f"this sentence has no gold, but the page was loaded with gold version {expected}"
        else:
            what = f"someone saved this sentence's gold meanwhile (version {current} now)"
        super().__init__(f"{what}; reload to see the gold as it is")
        self.current = current


class AnnotationsChanged(RuntimeError):
    """An annotator saved a new version of the sentence (or stopped counting) after the page the reviewer
    decided on was loaded; ``annotators`` names them. Gold saved now would answer versions nobody reviewed."""

    def __init__(self, annotators: list[str]):
        super().__init__(f"{', '.join(annotators)} saved a new version of this sentence after this page was loaded")
        self.annotators = annotators


def _counted_versions(session: Session, sentence: Sentence) -> dict[str, int]:
    """Each counted (done or flagged) annotation of ``sentence``: its annotator's name -> its version."""
    return dict(
        session.execute(
            select(User.username, Annotation.version)
            .join(User, User.id == Annotation.user_id)
            .where(Annotation.sentence_id == sentence.id, Annotation.status.in_(COUNTED))
        ).all()
    )


def _changed_since_seen(seen: Any, counted: Mapping[str, int]) -> list[str]:
    """The annotators whose counted version is not the one in ``seen`` (the view's ``seen``), or who joined or
    left the counted ones since; AdjudicationError for a ``seen`` that is not a name -> version object."""
    if not isinstance(seen, Mapping) or not all(
        isinstance(name, str) and is_int(version) for name, version in seen.items()
    ):
        raise AdjudicationError("seen must be an object of annotator name -> annotation version, as the page gave it")
    return sorted(name for name in {*seen, *counted} if seen.get(name) != counted.get(name))


def adjudication_view(session: Session, project: Project, sentence: Sentence) -> dict[str, Any]:
    """What the adjudication page shows: the sentence, every annotator's version, conflicts and current gold.

    ``seen``: each counted annotation's version, sent back with the gold (:func:`adjudicate`).
    """
    records = load_records(session, project, [sentence.id])
    found = sentence_disagreements(sentence.text, records.annotations)
    gold = session.scalar(select(GoldAnnotation).where(GoldAnnotation.sentence_id == sentence.id))
    window = sentence_window(session, sentence)
    return {
        "sentence_id": sentence.id,
        "report_number": window.report_number,
        "position": sentence.position,
        "context": {"before": window.before, "after": window.after},
        "text": sentence.text,
        "tokens": [list(t) for t in sentence.tokens],
        "annotations": [
            {
                "annotator": a.annotator,
                "status": a.status,
                "comment": a.comment,
                "spans": [_span_json(s, sentence.text) for s in a.spans],
            }
            for a in records.annotations
        ],
        **found,
        "decisions": _decisions(sentence.text, found, [] if gold is None else gold.spans),
        "incident_versions": {
            a.annotator: _incidents_json(a.incidents) for a in records.annotations if a.status in COUNTED
        },
        "link": link_disagreement(sentence.text, records.annotations),
        "seen": _counted_versions(session, sentence),
        # Saved after the gold, so not seen by whoever saved it: saving the gold again answers them.
        "changed_since_gold": changed_since_gold(session, project, sentence.id).get(sentence.id, []),
        "gold": None
        if gold is None
        else {
            "version": gold.version,
            "note": gold.note,
            "dropped": gold.dropped or [],
            "spans": [
                {**_span_json(s, sentence.text), "provenance": s.provenance, "reason": s.reason} for s in gold.spans
            ],
            "incidents": gold.incidents or [],
        },
        "labels": project_labels(project),
        "label_info": [
            {
                "name": label["name"],
                "key": label.get("key"),
                "colour": label.get("colour", "#2458c6"),
                "retired": bool(label.get("retired", False)),
                "kind": label.get("kind", "text"),
            }
            for label in project.labels
        ],
        "reasons": list(REASONS),
    }


def _decisions(text: str, found: Mapping[str, Any], gold_spans) -> list[dict[str, Any]]:
    """What the reviewer decides on the page, in text order: every place some version or the saved gold has a span.

    ``kind`` "conflict" (annotators differ), "single" (one annotator's
    version, proposed as gold: ``proposal`` names them) or "gold" (a span
    only the saved gold has, proposed as it is). Regions that every
    annotator marked the same are not here: they are ``agreed``.
    """
    items = [{**c, "kind": "conflict"} for c in found["conflicts"]]
    for region in found["single"]:
        items.append({**region, "kind": "single", "types": ["single annotator"], "proposal": found["annotators"][0]})
    covered = [(r["start_char"], r["end_char"]) for r in items] + [
        (s["start_char"], s["end_char"]) for s in found["agreed"]
    ]
    for span in sorted(gold_spans, key=lambda s: (s.start_char, s.end_char, s.label)):
        if any(a < span.end_char and span.start_char < b for a, b in covered):
            continue
        items.append(
            {
                "kind": "gold",
                "types": ["saved gold"],
                "start_char": span.start_char,
                "end_char": span.end_char,
                "labels": [span.label],
                "versions": {n: [] for n in found["annotators"]},
                "proposal": None,
            }
        )
        covered.append((span.start_char, span.end_char))
    items.sort(key=lambda r: (r["start_char"], r["end_char"]))
    return items


def _span_json(span, text: str) -> dict[str, Any]:
    return {
        "start_char": span.start_char,
        "end_char": span.end_char,
        "label": span.label,
        "value": span.value,
        "text": text[span.start_char : span.end_char],
    }


def adjudicate(
    session: Session, sentence: Sentence, reviewer: User, decisions: Mapping[str, Any], limits: Limits = DEFAULT_LIMITS
) -> GoldAnnotation:
    """Store the reviewer's gold for ``sentence``, replacing any earlier gold.

    ``decisions``: ``{"version": the gold version the reviewer saw (None or 0
    for none), "spans": [{start_char, end_char, label, value, reason?}],
    "dropped": [{start_char, end_char, label}] the spans dropped on purpose,
    "note": the reviewer's note to the annotators, "reason": default reason
    code}``. No annotator's span (nor an earlier gold span) may vanish
    without a decision: each one left out must be listed in ``dropped`` or
    overlap a span of the new gold ("replaced"); they are stored in
    ``GoldAnnotation.dropped`` and the audit event. ``"incidents"`` (optional):
    the gold spans grouped into incidents (``annotator.incidents`` JSON shape),
    stored with their provenance (see :func:`_gold_incidents`). Each span's provenance: "unanimous"
    when every counted annotator (two or more) has it with that value,
    "majority" when more than half do, else "adjudicated"; non-unanimous
    spans record the reviewer (``decided_by``) and reason. One AuditEvent
    per save lists the spans added, removed and changed; ``needs_review``
    is cleared; every annotation of the sentence is recorded at the version read (``GoldAnswer``), so
    that a later version is news for the review queue. ``"seen"`` (optional): the counted annotations' versions the page showed
    (:func:`adjudication_view`). Raises AdjudicationError for invalid spans, labels or reasons,
    StaleGold when the version is not the current one, AnnotationsChanged when a counted
    annotation is not the one ``seen`` names (saved since, new, or no longer counted), and
    ``services.label_scheme.SchemeChanged`` when a label was renamed, deleted or
    given another kind meanwhile (the caller rolls back); ``limits`` bounds
    the spans (``annotator.limits``) and how many problems one refusal lists.
    """
    project = session.get(Project, sentence.project_id)
    wanted = _validate(session, decisions, sentence, project, limits)
    explicit = _dropped_keys(decisions.get("dropped"), limits)
    note = _note(decisions.get("note"), limits)
    default_reason = _reason(decisions.get("reason"))
    expected = decisions.get("version") or 0
    hold_scheme(session, project)  # a rename waits for this save, or refuses it: services.label_scheme
    # On PostgreSQL, lock the sentence first: a first version being saved meanwhile holds a key share of it,
    # so the gold waits for that save and reads it, and one started later waits for the gold (it is late).
    session.execute(select(Sentence.id).where(Sentence.id == sentence.id).with_for_update())
    # Every annotation in one read: the gold answers each at the version read here (GoldAnswer).
    everyone = session.execute(
        select(Annotation, User.username)
        .join(User, User.id == Annotation.user_id)
        .where(Annotation.sentence_id == sentence.id)
        .execution_options(populate_existing=True)  # as stored, not as a long-lived session remembers them
    ).all()
    answered = {a.id: a.version for a, _ in everyone}
    counted = [(a, name) for a, name in everyone if a.status in COUNTED]
    if decisions.get("seen") is not None:
        changed = _changed_since_seen(decisions["seen"], {name: a.version for a, name in counted})
        if changed:
            raise AnnotationsChanged(changed)
    voters = {a.user_id: {(s.start_char, s.end_char, s.label): s.value for s in a.spans} for a, _ in counted}
    gold = session.scalar(select(GoldAnnotation).where(GoldAnnotation.sentence_id == sentence.id))
    marked_by: dict[tuple[int, int, str], list[str]] = {}
    for a, name in counted:
        for s in a.spans:
            marked_by.setdefault((s.start_char, s.end_char, s.label), []).append(name)
    if gold is not None:
        for g in gold.spans:
            marked_by.setdefault((g.start_char, g.end_char, g.label), []).append("gold")
    now = utcnow()
    if gold is None:
        if expected:
            raise StaleGold(None, expected)
        gold = GoldAnnotation(
            sentence_id=sentence.id, reviewer_id=reviewer.id, version=1, created_at=now, updated_at=now
        )
        session.add(gold)
        session.flush()  # a concurrent first save fails here on the unique sentence_id
        action = "gold.create"
    else:
        if expected != gold.version:
            raise StaleGold(gold.version, expected)
        # Compare-and-set: of two reviewers saving the same version, only one moves it on.
        moved = session.execute(
            update(GoldAnnotation)
            .where(and_(GoldAnnotation.id == gold.id, GoldAnnotation.version == expected))
            .values(version=expected + 1, reviewer_id=reviewer.id, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount != 1:
            raise StaleGold(None, expected, raced=True)
        session.refresh(gold)
        action = "gold.update"
    # After the version check: a stale save is a 409, not a list of spans it never saw.
    dropped = _accounted_drops(sentence.text, marked_by, wanted, explicit, default_reason)
    before = {(s.start_char, s.end_char, s.label): s for s in gold.spans}
    added, removed, changed = [], [], []
    for key, row in before.items():
        if key not in wanted:
            gold.spans.remove(row)
            removed.append(_audit_span(key, row.value))
    for key, span in wanted.items():
        holders = sum(1 for spans in voters.values() if key in spans and spans[key] == span["value"])
        if len(voters) >= 2 and holders == len(voters):
            provenance, decided_by, reason = "unanimous", None, None
        else:
            provenance = "majority" if len(voters) >= 2 and 2 * holders > len(voters) else "adjudicated"
            decided_by, reason = reviewer.id, _reason(span.get("reason")) or default_reason
        fields = {"value": span["value"], "provenance": provenance, "decided_by": decided_by, "reason": reason}
        row = before.get(key)
        if row is None:
            gold.spans.append(GoldSpan(start_char=key[0], end_char=key[1], label=key[2], **fields))
            added.append({**_audit_span(key, span["value"]), "provenance": provenance})
        elif any(getattr(row, f) != v for f, v in fields.items()):
            changed.append({**_audit_span(key, span["value"]), "provenance": provenance, "was": row.value})
            for f, v in fields.items():
                setattr(row, f, v)
    gold.note = note
    gold.dropped = dropped
    old_incidents = gold.incidents or []
    gold.incidents = _gold_incidents(project, decisions, wanted, gold.incidents, counted, limits)
    sentence.needs_review = False
    session.execute(delete(GoldAnswer).where(GoldAnswer.gold_id == gold.id))
    if answered:
        session.execute(
            insert(GoldAnswer), [{"gold_id": gold.id, "annotation_id": i, "version": v} for i, v in answered.items()]
        )
    record(
        session,
        reviewer,
        action,
        "gold_annotation",
        gold.id,
        sentence_id=sentence.id,
        version=gold.version,
        added=added,
        removed=removed,
        changed=changed,
        reason=default_reason,
        dropped=dropped,
        note=note,
        **(
            {"old_incidents": old_incidents, "incidents": gold.incidents or []}
            if old_incidents or gold.incidents
            else {}
        ),
    )
    session.flush()
    confirm_scheme(session, project)
    return gold


def _incidents_json(incidents) -> list[dict[str, Any]]:
    return [{"spans": [{"start_char": s, "end_char": e, "label": label} for s, e, label in i.spans]} for i in incidents]


def _gold_incidents(
    project: Project,
    decisions: Mapping[str, Any],
    wanted: Mapping[SpanKey, Any],
    stored: Any,
    counted,
    limits: Limits = DEFAULT_LIMITS,
) -> list[dict[str, Any]] | None:
    """The gold's incidents column: the reviewer's ``incidents`` checked against the gold's spans, each with provenance.

    Provenance as a gold span's: "unanimous" when every counted annotator (two or more) made that
    incident, "majority" when more than half did, else "adjudicated". Without ``incidents`` in the
    decisions the stored gold incidents are kept where their spans still are.
    """
    if "incidents" not in decisions:
        return incidents_column(pruned(stored_incidents(stored), wanted, project.labels))
    try:
        chosen = checked_incidents(decisions["incidents"], wanted, project.labels)
    except InvalidIncidents as exc:
        problems = join_capped(exc.problems, limits.max_listed_problems)
        raise AdjudicationError(f"the incidents do not fit the gold spans: {problems}") from None
    made = [{i.spans for i in stored_incidents(a.incidents)} for a, _ in counted]
    out = []
    for incident in chosen:
        holders = sum(1 for groups in made if incident.spans in groups)
        if len(made) >= 2 and holders == len(made):
            provenance = "unanimous"
        else:
            provenance = "majority" if len(made) >= 2 and 2 * holders > len(made) else "adjudicated"
        out.append(IncidentRecord(incident.spans, provenance))
    return incidents_column(out)


def _dropped_keys(dropped: Any, limits: Limits) -> set[tuple[int, int, str]]:
    """The spans the reviewer dropped on purpose: ``[{start_char, end_char, label}]``."""
    if dropped is None:
        return set()
    if isinstance(dropped, list) and len(dropped) > limits.max_spans_per_annotation:
        raise AdjudicationError(
            f'"dropped" lists more than {limits.max_spans_per_annotation} spans (MAX_SPANS_PER_ANNOTATION)'
        )
    if not isinstance(dropped, list) or not all(
        isinstance(d, dict)
        and isinstance(d.get("start_char"), int)
        and isinstance(d.get("end_char"), int)
        and isinstance(d.get("label"), str)
        for d in dropped
    ):
        raise AdjudicationError(
            '"dropped" must be a list of {start_char, end_char, label}: the spans you decided to leave out'
        )
    return {(d["start_char"], d["end_char"], d["label"]) for d in dropped}


def _note(note: Any, limits: Limits) -> str | None:
    """The reviewer's note to the annotators: text, within the comment limit, storable on every backend."""
    if note is None:
        return None
    if not isinstance(note, str) or len(note) > limits.max_comment_chars:
        raise AdjudicationError(
            f"the note must be text of at most {limits.max_comment_chars} characters (MAX_COMMENT_CHARS)"
        )
    problem = text_problem(note)
    if problem is not None:
        raise AdjudicationError(f"the note {problem}")
    return note.strip() or None


def _accounted_drops(
    text: str,
    marked_by: Mapping[tuple[int, int, str], list[str]],
    wanted: Mapping[tuple[int, int, str], Any],
    explicit: set[tuple[int, int, str]],
    reason: str | None,
) -> list[dict[str, Any]]:
    """Every annotator's (and the earlier gold's) span the new gold leaves out, with the decision behind it.

    A span is "replaced" when the gold has an overlapping span (the reviewer
    decided that stretch of text) and "drop" when the reviewer listed it in
    ``dropped``; any other would vanish without a decision, and the save is
    refused (AdjudicationError naming them).
    """
    out, silent = [], []
    for key in sorted(marked_by):
        if key in wanted:
            continue
        if any(k[0] < key[1] and key[0] < k[1] for k in wanted):
            decision = "replaced"
        elif key in explicit:
            decision = "drop"
        else:
            silent.append(key)
            continue
        out.append(
            {
                **_audit_span(key, None),
                "text": text[key[0] : key[1]],
                "by": sorted(marked_by[key]),
                "decision": decision,
                "reason": reason,
            }
        )
    if silent:
        listed = "; ".join(
            f"{', '.join(sorted(marked_by[k]))}: {k[2]} «{text[k[0] : k[1]]}» ({k[0]}–{k[1]})" for k in silent
        )
        raise AdjudicationError(
            f'this gold would leave out spans nobody decided to drop ({listed}); take them, edit them, or list them in "dropped"'
        )
    return out


def _audit_span(key: tuple[int, int, str], value: str | None) -> dict[str, Any]:
    return {"start_char": key[0], "end_char": key[1], "label": key[2], "value": value}


def _reason(reason: Any) -> str | None:
    if reason in (None, ""):
        return None
    if not isinstance(reason, str) or reason not in REASONS:
        shown = repr(reason) if len(repr(reason)) <= 40 else repr(reason)[:39] + "\u2026"
        raise AdjudicationError(f"reason must be one of {', '.join(REASONS)}, not {shown}")
    return reason


def _validate(
    session: Session, decisions: Mapping[str, Any], sentence: Sentence, project: Project, limits: Limits
) -> dict[tuple[int, int, str], dict[str, Any]]:
    """The reviewer's spans, checked as an annotator's are (offsets on token boundaries, known labels),
    and valued as an annotator's are: a span sent without a value gets the one its text gives."""
    spans = decisions.get("spans")
    if not isinstance(spans, list):
        raise AdjudicationError('send "spans": a list of {start_char, end_char, label, value}')
    version = decisions.get("version")
    if version is not None and (
        isinstance(version, bool) or not isinstance(version, int) or not 0 <= version <= MAX_ROW_ID
    ):
        raise AdjudicationError('"version" must be the gold version you loaded, or null')
    clean, problems = validate_spans(
        project,
        sentence,
        [{k: v for k, v in span.items() if k != "reason"} if isinstance(span, dict) else span for span in spans],
        limits,
    )
    if problems:
        messages = [f"span {p.span}: {p.problem}" if p.span is not None else p.problem for p in problems]
        raise AdjudicationError(join_capped(messages, limits.max_listed_problems))
    wanted: dict[tuple[int, int, str], dict[str, Any]] = {}
    for span, checked, value in zip(spans, clean, span_values(session, project, sentence, clean), strict=True):
        key = (checked["start_char"], checked["end_char"], checked["label"])
        wanted[key] = {"value": value or None, "reason": span.get("reason")}
    return wanted
