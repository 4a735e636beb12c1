"""What changes whenever a project's annotations or gold change: the key of per-process caches of derived figures."""

from __future__ import annotations

from sqlalchemy import Numeric, cast, func, select
from sqlalchemy.orm import Session

from ..db import database_key
from ..models import Annotation, GoldAnnotation, Project, Sentence


def annotations_and_gold(session: Session, project: Project) -> tuple:
    """Figures of the project's annotations and gold, with the database and the label scheme.

    Per table: count, ``max(id)``, sum of versions and latest ``updated_at``; for annotations also the
    sum of ``seconds_spent``, which a save that changes nothing else adds to without a new version.
    Every other change of an annotation or gold bumps its version, so the sum moves even when the
    save's time stamp is older than another's (a save that committed after a later one started, or a
    server whose clock is behind); ``max(id)`` moves when one is deleted and another added.
    """

    def figures(table, *extra) -> tuple:
        return tuple(
            session.execute(
                select(
                    func.count(table.id),
                    func.max(table.id),
                    func.sum(table.version),
                    func.max(table.updated_at),
                    *extra,
                )
                .join(Sentence, Sentence.id == table.sentence_id)
                .where(Sentence.project_id == project.id)
            ).one()
        )

    # Exact decimals: a float sum can differ in its last digit from one (parallel) scan to the next.
    seconds = func.sum(cast(Annotation.seconds_spent, Numeric))
    return (
        database_key(session),
        project.id,
        figures(Annotation, seconds),
        figures(GoldAnnotation),
        repr(project.labels),
    )
