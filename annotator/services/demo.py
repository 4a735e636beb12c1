"""Demo data: annotations by two annotators on some reports, so review has something to show."""

from __future__ import annotations

import random

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Annotation, Project, Report, Sentence, User
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
