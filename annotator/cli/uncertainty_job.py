"""Score a project's sentences for "most informative first": ``python -m annotator.cli.uncertainty_job PROJECT_ID``.

Started by ``annotator.services.uncertainty.launch`` (the models page when a version is made
active, the project settings page when the queue is set to most informative first), with the
database URL in ``ANNOTATOR_DATABASE_URL``; the training job calls :func:`score_project` in its
own process when a run finishes. An edge: it owns its transactions. It runs the active
version's pipeline over the project and stores each sentence's uncertainty and rank
(``annotator.services.uncertainty``), :data:`STORE_BATCH` sentences per transaction, unless
the active version changed meanwhile (the process started for the new one stores its own).
"""

from __future__ import annotations

import sys

from sqlalchemy.orm import Session, sessionmaker

STORE_BATCH = 2000  # sentences written per transaction: claims and saves of those rows wait at most that long


def score_project(sessions: sessionmaker[Session], project_id: int) -> str:
    """Score project ``project_id``'s sentences with its active version; a one-line account of what happened."""
    from .. import db as database
    from ..export.training import load_pipeline
    from ..models import Project
    from ..services import uncertainty
    from ..services.model_versions import active_version, pipeline_path

    with sessions() as session:
        project = session.get(Project, project_id)
        if project is None:
            return f"Project {project_id} does not exist."
        if not uncertainty.wanted(project):
            return f"Project {project.name!r} serves report order: nothing to score."
        version = active_version(session, project)
        if version is None:
            return f"Project {project.name!r} has no active model version: nothing to score."
        version_id, number = version.id, version.number
        nlp = load_pipeline(pipeline_path(version))
        database.read_snapshot(session)
        scores = uncertainty.compute_uncertainties(session, project, nlp)
        session.commit()
        database.write_transaction(session)
        if not _still_wanted(session, project_id, version_id):
            session.rollback()
            return f"Version {number} is no longer active, or the project no longer reads scores: none were stored."
        # Every sentence of the project is in ``scores`` but those added since (unscored anyway).
        rows = uncertainty.ranked(session, project, scores)
        name = project.name
        for start in range(0, len(rows), STORE_BATCH):
            # Checked again in each batch's write transaction: a process started for a newer version
            # (or none, the project back to report order) is not overwritten by this one's later batches.
            if start:
                database.write_transaction(session)
                if not _still_wanted(session, project_id, version_id):
                    session.rollback()
                    return (
                        f"Version {number} stopped being the project's active version, or the project its "
                        f"most-informative-first order, after {start} of {len(rows)} sentences of {name!r} "
                        "were stored: the rest were not."
                    )
            uncertainty.store_ranked(session, rows[start : start + STORE_BATCH])
            session.commit()
        session.commit()  # no sentence at all: end the write transaction
        return f"Scored {len(rows)} sentences of {name!r} with version {number}."


def _still_wanted(session: Session, project_id: int, version_id: int) -> bool:
    """Whether the project still reads the scores and ``version_id`` is still its active version (read afresh)."""
    from ..models import Project
    from ..services import uncertainty
    from ..services.model_versions import active_version

    project = session.get(Project, project_id, populate_existing=True)
    if project is None or not uncertainty.wanted(project):
        return False
    current = active_version(session, project)
    return current is not None and current.id == version_id


def main(argv: list[str]) -> int:
    from .training_job import run_job

    return run_job(
        argv,
        "python -m annotator.cli.uncertainty_job PROJECT_ID",
        "the job",
        lambda sessions, project_id: (score_project(sessions, project_id), 0),
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
