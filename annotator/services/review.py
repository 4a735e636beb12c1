"""Review: a project's records for the agreement report, its disagreements and the review queue.

Adjudication into gold is ``services.adjudication``.

Functions take the session and never commit; the view or command that
calls them owns the transaction.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from ..metrics.disagreements import (
    COUNTED,
    LINK,
    disagreements,
    link_disagreement,
    review_order,
    sentence_disagreements,
)
from ..metrics.suggestion_sources import suggestion_sources
from ..metrics.summary import pair_key
from ..models import Annotation, GoldAnnotation, GoldAnswer, GoldSpan, Project, Sentence, Span, User
from ..records import AnnotationRecord
from .fingerprint import annotations_and_gold
from .model_scores import model_gold_row
from .projects import project_status
from .rows import project_records as load_records


def project_labels(project: Project) -> list[str]:
    return [label["name"] for label in project.labels]


_CACHE: OrderedDict[tuple, Any] = OrderedDict()
_CACHE_SIZE = 32


def data_version(session: Session, project: Project) -> tuple:
    """Changes whenever an annotation, gold or the project's scheme changes: the key of derived figures."""
    sentences = session.execute(
        select(
            func.count(Sentence.id),
            func.count(Sentence.id).filter(Sentence.needs_review.is_(True)),
            func.sum(Sentence.extra_annotators),
        ).where(Sentence.project_id == project.id)
    ).one()
    return (
        annotations_and_gold(session, project),
        tuple(sentences),
        project.annotators_per_sentence,
        project.routing,
    )


def _cached(session: Session, project: Project, name: str, compute, *args):
    """``compute()`` memoised per process on the project's data version.

    The agreement report and review queue of a large project take seconds;
    the pages ask for them on every request. Only derived figures are kept,
    so several workers each holding their own copy is harmless.
    """
    key = (name, data_version(session, project), args)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return copy.deepcopy(_CACHE[key])
    value = compute()
    _CACHE[key] = value
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return copy.deepcopy(value)


def project_report(
    session: Session, project: Project, n_resamples: int = 1000, seed: int = 0, model_version: int | None = None
) -> dict[str, Any]:
    """``agreement_report`` of the project, plus its counts (``status``) and review-queue length.

    ``report["gold"]["model"]`` is the model row of the annotator-vs-gold table
    (``model_scores.model_gold_row``): version ``model_version``, else the
    active one; None when there is none. Raises ``VersionNotFound`` for an
    unknown ``model_version``.
    """
    report = _cached(
        session, project, "report", lambda: _project_report(session, project, n_resamples, seed), n_resamples, seed
    )
    report["gold"]["model"] = model_gold_row(session, project, model_version, n_resamples, seed)
    return report


def _project_report(session: Session, project: Project, n_resamples: int, seed: int) -> dict[str, Any]:
    from ..metrics.project import agreement_report  # numpy: loaded with the first report, not with the app

    records = load_records(session, project)
    report = agreement_report(
        records.sentences, records.annotations, records.gold.values(), project_labels(project), n_resamples, seed
    )
    report["project"] = project.name
    report["status"] = project_status(session, project.name)
    report["annotators_per_sentence"] = project.annotators_per_sentence
    report["routing"] = project.routing
    report["effort"] = labelling_effort(session, project)
    # Where spans come from, and accepted suggestions vs hand-made spans against adjudicated gold.
    report["suggestions"] = suggestion_sources(records.annotations, records.gold.values())
    return report


def labelling_effort(session: Session, project: Project) -> dict[str, Any]:
    """Time spent and the use of suggestions, per annotator and overall.

    ``median_seconds`` is per done sentence; ``suggested_share`` the share of
    saved spans that came from an accepted suggestion. ``with_suggestions``
    and ``without_suggestions`` compare the median time of done sentences
    where at least one suggestion was accepted against the others: the time
    the suggestions save. Medians are None with no sentences.
    """
    suggested = (
        select(
            Span.annotation_id,
            func.count().label("spans"),
            func.count().filter(Span.suggested.is_(True)).label("suggested"),
        )
        .group_by(Span.annotation_id)
        .subquery()
    )
    rows = session.execute(
        select(
            User.username,
            Annotation.seconds_spent,
            func.coalesce(suggested.c.spans, 0),
            func.coalesce(suggested.c.suggested, 0),
        )
        .join(User, User.id == Annotation.user_id)
        .join(Sentence, Sentence.id == Annotation.sentence_id)
        .outerjoin(suggested, suggested.c.annotation_id == Annotation.id)
        .where(Sentence.project_id == project.id, Annotation.status == "done")
    ).all()
    per_annotator: dict[str, dict[str, Any]] = {}
    with_s, without_s = [], []
    for name, seconds, spans, from_suggestions in rows:
        entry = per_annotator.setdefault(name, {"seconds": [], "spans": 0, "suggested": 0})
        entry["seconds"].append(seconds)
        entry["spans"] += spans
        entry["suggested"] += from_suggestions
        (with_s if from_suggestions else without_s).append(seconds)
    return {
        "annotators": {
            name: {
                "median_seconds": _median(e["seconds"]),
                "suggested_share": e["suggested"] / e["spans"] if e["spans"] else None,
                "sentences": len(e["seconds"]),
            }
            for name, e in sorted(per_annotator.items())
        },
        "with_suggestions": {"median_seconds": _median(with_s), "sentences": len(with_s)},
        "without_suggestions": {"median_seconds": _median(without_s), "sentences": len(without_s)},
    }


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def project_disagreements(
    session: Session,
    project: Project,
    labels: Iterable[str] | None = None,
    pair=None,
    types: Iterable[str] | None = None,
    has: str | None = None,
    gold: str | None = None,
) -> list[dict[str, Any]]:
    """``disagreements`` over the project's sentences with two or more counted annotations, or a flag.

    Link disagreements (``metrics.disagreements.link_disagreement``: the same spans, other incidents)
    are added as conflicts of type ``link``, under the same filters. Each item says whether the sentence
    has gold (``gold``) and who saved a version since (``changed_since_gold``); ``gold`` (one of
    GOLD_FILTERS) keeps the ``open`` ones (no gold, or news since it) or the ``adjudicated`` ones.
    """
    if gold is not None and gold not in GOLD_FILTERS:
        raise ValueError(f"gold is one of {', '.join(GOLD_FILTERS)}; got {gold!r}")
    ids = (
        select(Annotation.sentence_id)
        .join(Sentence, Sentence.id == Annotation.sentence_id)
        .where(Sentence.project_id == project.id, Annotation.status.in_(COUNTED))
        .group_by(Annotation.sentence_id)
        .having(or_(func.count() >= 2, func.count().filter(Annotation.status == "flagged") > 0))
    )
    records = load_records(session, project, session.scalars(ids).all())
    wanted = None if types is None else set(types)
    span_types = None if wanted is None else sorted(wanted - {LINK})
    found = disagreements(records.sentences, records.annotations, labels, pair=pair, types=span_types, has=has)
    if wanted is None or LINK in wanted:
        found = _with_links(found, records, labels, pair, has)
    changed = changed_since_gold(session, project) if records.gold else {}
    # The project's routed sentences (few), not an IN list of every disagreement (SQLite caps its parameters).
    routed = set(
        session.scalars(select(Sentence.id).where(Sentence.project_id == project.id, Sentence.needs_review.is_(True)))
    )
    for item in found:
        item["gold"] = item["sentence_id"] in records.gold
        item["changed_since_gold"] = changed.get(item["sentence_id"], [])
    if gold is not None:
        found = [item for item in found if _open(item) == (gold == "open")]
    found.sort(
        key=lambda item: review_order(
            item["sentence_id"],
            item["severity"],
            flagged=bool(_open_flags(item["flagged_by"], item["gold"], item["changed_since_gold"])),
            changed_since_gold=bool(item["changed_since_gold"]),
            settled=not _open(item),
            needs_review=item["sentence_id"] in routed,
        )
    )
    return found


GOLD_FILTERS = ("open", "adjudicated")


def _open(item: dict[str, Any]) -> bool:
    """No gold yet, or an annotator saved news since it: a reviewer still has to look."""
    return not item["gold"] or bool(item["changed_since_gold"])


def _open_flags(flagged_by: list[str], has_gold: bool, since_gold: list[str]) -> list[str]:
    """Who flagged the sentence and is not yet answered: every flag without gold, else only flags saved after it."""
    return [name for name in flagged_by if name in since_gold] if has_gold else flagged_by


def _with_links(found: list[dict[str, Any]], records, labels, pair, has) -> list[dict[str, Any]]:
    """``found`` with each sentence's link disagreement added (a new item where it has no other), unsorted."""
    by_id = {item["sentence_id"]: item for item in found}
    held: dict[int, list[AnnotationRecord]] = {}
    for a in records.annotations:
        held.setdefault(a.sentence_id, []).append(a)
    wanted_pair = None if pair is None else pair_key(*sorted(pair))
    for s in records.sentences:
        link = link_disagreement(s.text, held.get(s.id, []))
        if link is None or (labels is not None and not set(labels) & set(link["labels"])):
            continue
        if wanted_pair is not None and wanted_pair not in link["pairs"]:
            continue
        item = by_id.get(s.id)
        if item is None:
            result = sentence_disagreements(s.text, held[s.id])
            if has == "comment" and not result["comments"] or has == "flagged" and not result["flagged_by"]:
                continue
            item = {
                "sentence_id": s.id,
                "text": s.text,
                "annotators": result["annotators"],
                "flagged_by": result["flagged_by"],
                "comments": result["comments"],
                "single": [],
                "severity": 0.0,
                "types": [],
                "conflicts": [],
            }
            found.append(item)
        item["conflicts"] = [*item["conflicts"], link]
        item["types"] = [*item["types"], LINK]
        item["severity"] += link["severity"]
    return found


def review_queue(session: Session, project: Project) -> list[dict[str, Any]]:
    """Sentences that need a reviewer: flagged first, then changed after their gold, then worst disagreement first.

    A sentence without gold is queued when its counted annotations conflict, an
    annotator flagged it, or ``Sentence.needs_review`` is set (by disagreement
    routing). A sentence with gold is queued when :func:`changed_since_gold` has news
    of it (a flag, or a changed version, saved after the gold), until the gold is saved again.
    Items: ``sentence_id``, ``text``, ``severity``, ``types``, ``flagged_by`` (for a
    sentence with gold, only flags saved after it), ``needs_review``, ``changed_since_gold``.
    """
    return _cached(session, project, "queue", lambda: _review_queue(session, project))


def changed_since_gold(session: Session, project: Project, sentence_id: int | None = None) -> dict[int, list[str]]:
    """Annotators with news for a reviewer since the sentence's gold was saved, by sentence.

    The gold answered each annotation at the version it read when it was saved (``GoldAnswer``).
    News since then, by annotation version, not by time (a save racing the gold's, or made on a
    server whose clock is behind, is not missed):

    - a flagged version the gold did not read, by anyone;
    - another version of an annotation the gold answered, unless it now marks exactly the gold's
      spans (offsets, label, value): that annotator came round to the gold.

    A late annotator's versions of a sentence that already has gold are no news: they are scored
    against the gold (the dashboard's annotator-vs-gold figures), as on a control item, unless
    flagged. Saving the gold again answers all of it. ``sentence_id``: that sentence only.
    """
    query = (
        select(Annotation.id, Annotation.sentence_id, Annotation.status, GoldAnnotation.id, User.username)
        .join(GoldAnnotation, GoldAnnotation.sentence_id == Annotation.sentence_id)
        .join(Sentence, Sentence.id == Annotation.sentence_id)
        .join(User, User.id == Annotation.user_id)
        .outerjoin(GoldAnswer, and_(GoldAnswer.gold_id == GoldAnnotation.id, GoldAnswer.annotation_id == Annotation.id))
        .where(
            Sentence.project_id == project.id,
            Annotation.status.in_(COUNTED),
            GoldAnswer.version.is_distinct_from(Annotation.version),  # not the version the gold read
            or_(Annotation.status == "flagged", GoldAnswer.version.is_not(None)),  # a late one: only a flag
        )
    )
    if sentence_id is not None:
        query = query.where(Annotation.sentence_id == sentence_id)
    rows = session.execute(query).all()
    changed = [row for row in rows if row.status != "flagged"]
    if changed:  # a changed version that now matches the gold is no news
        versions: dict[int, set[tuple]] = {row[0]: set() for row in changed}
        for annotation_id, *key in session.execute(
            select(Span.annotation_id, Span.start_char, Span.end_char, Span.label, Span.value).where(
                Span.annotation_id.in_(list(versions))
            )
        ):
            versions[annotation_id].add(tuple(key))
        golds: dict[int, set[tuple]] = {row[3]: set() for row in changed}
        for gold_id, *key in session.execute(
            select(GoldSpan.gold_id, GoldSpan.start_char, GoldSpan.end_char, GoldSpan.label, GoldSpan.value).where(
                GoldSpan.gold_id.in_(list(golds))
            )
        ):
            golds[gold_id].add(tuple(key))
        rows = [row for row in rows if row.status == "flagged" or versions[row[0]] != golds[row[3]]]
    news: dict[int, list[str]] = {}
    for row in rows:
        news.setdefault(row.sentence_id, []).append(row.username)
    return {sid: sorted(names) for sid, names in news.items()}


def _review_queue(session: Session, project: Project) -> list[dict[str, Any]]:
    several = (
        select(Annotation.sentence_id)
        .where(Annotation.status.in_(COUNTED))
        .group_by(Annotation.sentence_id)
        .having(func.count() >= 2)
    )
    flagged = select(Annotation.sentence_id).where(Annotation.status == "flagged")
    without_gold = set(
        session.scalars(
            select(Sentence.id)
            .outerjoin(GoldAnnotation, GoldAnnotation.sentence_id == Sentence.id)
            .where(Sentence.project_id == project.id, GoldAnnotation.id.is_(None))
            .where(or_(Sentence.needs_review.is_(True), Sentence.id.in_(several), Sentence.id.in_(flagged)))
        )
    )
    changed = changed_since_gold(session, project)
    candidates = sorted(without_gold | changed.keys())
    if not candidates:
        return []
    flags = dict(session.execute(select(Sentence.id, Sentence.needs_review).where(Sentence.id.in_(candidates))).all())
    records = load_records(session, project, candidates)
    by_sentence: dict[int, list[AnnotationRecord]] = {}
    for a in records.annotations:
        by_sentence.setdefault(a.sentence_id, []).append(a)
    queue = []
    for s in records.sentences:
        found = sentence_disagreements(s.text, by_sentence.get(s.id, []))
        link = link_disagreement(s.text, by_sentence.get(s.id, []))
        since_gold = changed.get(s.id, [])
        flagged_by = _open_flags(found["flagged_by"], s.id not in without_gold, since_gold)
        if found["conflicts"] or flagged_by or flags[s.id] or link or since_gold:
            queue.append(
                {
                    "sentence_id": s.id,
                    "text": s.text,
                    "severity": found["severity"] + (link["severity"] if link else 0.0),
                    "types": sorted({t for c in [*found["conflicts"], *([link] if link else [])] for t in c["types"]}),
                    "flagged_by": flagged_by,
                    "needs_review": bool(flags[s.id]),
                    "changed_since_gold": since_gold,
                }
            )
    queue.sort(
        key=lambda q: review_order(
            q["sentence_id"],
            q["severity"],
            flagged=bool(q["flagged_by"]),
            changed_since_gold=bool(q["changed_since_gold"]),
            needs_review=q["needs_review"],
        )
    )
    return queue


def next_in_queue(session: Session, project: Project, after: int | None = None) -> int | None:
    """The first queued sentence other than ``after``; None when the queue is empty."""
    return next((q["sentence_id"] for q in review_queue(session, project) if q["sentence_id"] != after), None)
