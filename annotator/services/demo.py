"""Demo data: annotations by two annotators on some reports, so review has something to show, and hand-made gold."""

from __future__ import annotations

import json
import random

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Annotation, GoldAnnotation, Project, Report, Sentence, User
from .adjudication import adjudicate
from .annotations import save_annotation
from .suggestions import offered_label_names, suggestions_for


def simulate_annotations(
    session: Session, project: Project, annotators: list[User], reports: int = 8, seed: int = 7
) -> int:
    """Label the last ``reports`` reports as each of ``annotators`` would, with human-like slips.

    Each annotator starts from the rule suggestions and, at random, drops a
    span, widens one by a token or relabels one, so the agreement figures and
    the disagreement list are not trivially perfect; a suggestion taken
    unchanged is saved as an accepted one, with its source and model
    version. Sentences an annotator
    already did are left alone. Returns the number of annotations added.
    """
    rng = random.Random(seed)
    report_ids = session.scalars(
        select(Report.id).where(Report.project_id == project.id).order_by(Report.id.desc()).limit(reports)
    ).all()
    sentences = session.scalars(
        select(Sentence).where(Sentence.report_id.in_(report_ids)).order_by(Sentence.report_id, Sentence.position)
    ).all()
    labels = offered_label_names(project)  # a slip picks a label a new span may take
    added = 0
    for user in annotators:
        done = set(session.scalars(select(Annotation.sentence_id).where(Annotation.user_id == user.id)))
        for sentence in sentences:
            if sentence.id in done:
                continue
            spans = []
            for suggestion in suggestions_for(session, project, sentence):
                roll = rng.random()
                if roll < 0.08:
                    continue  # missed
                span = {key: suggestion[key] for key in ("start_char", "end_char", "label")}
                if roll < 0.14:
                    span["end_char"] = _next_token_end(sentence, span["end_char"])
                elif roll < 0.18 and len(labels) > 1:
                    span["label"] = rng.choice([name for name in labels if name != span["label"]])
                else:  # taken as suggested: the span keeps where it came from
                    span.update(suggested=True, source=suggestion["source"], model_version=suggestion["model_version"])
                if not any(s["start_char"] < span["end_char"] and span["start_char"] < s["end_char"] for s in spans):
                    spans.append(span)
            save_annotation(session, sentence, user, "done", spans, seconds_spent=rng.uniform(4, 40))
            added += 1
    return added


def _next_token_end(sentence: Sentence, end: int) -> int:
    ends = [b for _, b in sentence.tokens if b > end]
    return ends[0] if ends else end


def load_gold(session: Session, project: Project, reviewer: User, data: bytes) -> tuple[int, int]:
    """Store the demo's hand-adjudicated gold (``annotator/data/demo_gold.jsonl``) as ``reviewer``'s decisions.

    One JSON line per sentence: ``report`` (the report's id in the demo file), ``position``, ``text``
    (the sentence, checked against the stored one), ``spans`` (``start_char``, ``end_char``, ``label``,
    ``value`` and the span's ``text``, checked against the sentence) and ``incidents`` (the
    ``annotator.incidents`` JSON shape). Each is saved by ``adjudication.adjudicate``, so its spans and
    incidents pass the checks a reviewer's do (provenance "adjudicated" where nobody annotated the
    sentence; annotators' spans it leaves out are listed as dropped). A sentence that has gold already
    is left alone, so a second run adds nothing. Returns (sentences, incidents) added; raises
    ValueError when a line does not fit the corpus.
    """
    sentences = incidents = 0
    for number, line in enumerate(data.decode("utf-8").splitlines(), 1):
        item = json.loads(line)
        sentence = session.scalar(
            select(Sentence)
            .join(Report, Report.id == Sentence.report_id)
            .where(
                Report.project_id == project.id,
                Report.external_id == item["report"],
                Sentence.position == item["position"],
            )
        )
        if sentence is None or sentence.text != item["text"]:
            raise ValueError(f"demo gold line {number}: no sentence {item['position']} of {item['report']} reads so")
        bad = [s for s in item["spans"] if sentence.text[s["start_char"] : s["end_char"]] != s["text"]]
        if bad:
            raise ValueError(f"demo gold line {number}: {bad[0]['text']!r} is not at its offsets")
        if session.scalar(select(GoldAnnotation.id).where(GoldAnnotation.sentence_id == sentence.id)) is not None:
            continue
        spans = [{k: s[k] for k in ("start_char", "end_char", "label", "value")} for s in item["spans"]]
        marked = session.scalars(select(Annotation).where(Annotation.sentence_id == sentence.id)).all()
        dropped = [
            {"start_char": s.start_char, "end_char": s.end_char, "label": s.label} for a in marked for s in a.spans
        ]
        decisions = {"spans": spans, "incidents": item["incidents"], "dropped": dropped}
        adjudicate(session, sentence, reviewer, decisions)
        sentences += 1
        incidents += len(item["incidents"])
    return sentences, incidents
