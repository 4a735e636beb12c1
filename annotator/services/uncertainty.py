"""The scores behind "most informative first": the active model version's uncertainty per sentence.

``Sentence.uncertainty`` is ``annotator.export.uncertainty.sentence_uncertainties`` of the
project's active version, from 0 (sure) to 1: for a spancat pipeline the largest
``4·p·(1 − p)`` over its suggester's candidate spans and labels, for an ner pipeline the
disagreement between its entities and the rule suggestions. ``Sentence.uncertainty_rank`` is
the sentence's place in the project by that score (0 = most uncertain; ties in report order),
which the queue reads (``annotator.services.queue``). A sentence added since is unscored (NULL).

Scores are computed in a process of their own, never in a web request: the training job
(``annotator.cli.training_job``) refreshes them when a run finishes, and :func:`launch` starts
``python -m annotator.cli.uncertainty_job PROJECT_ID`` when an admin makes a version active or
sets the queue to most informative first. Only projects ordered "uncertain" are scored.
Functions receive the session and never commit.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from ..models import Project, Sentence

if TYPE_CHECKING:
    from spacy.language import Language

log = logging.getLogger(__name__)
SCORE_MODULE = "annotator.cli.uncertainty_job"
LOG_FILE = "uncertainty.log"  # in the active version's folder

_TABLE = Sentence.__table__
_STORE = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("sentence_id"))
    .values(uncertainty=bindparam("score"), uncertainty_rank=bindparam("rank"))
)


def wanted(project: Project) -> bool:
    """Whether the project's queue reads the scores (it is ordered most informative first)."""
    return project.queue_order == "uncertain"


def compute_uncertainties(session: Session, project: Project, nlp: Language) -> dict[int, float]:
    """``{sentence id: uncertainty}`` of every sentence of ``project`` under the pipeline ``nlp``.

    Slow (the pipeline runs over the whole project): for a background process.
    """
    from ..export.training import spancat_key
    from ..export.uncertainty import sentence_uncertainties
    from .suggestions import rule_suggester

    rows = session.execute(
        select(Sentence.id, Sentence.text, Sentence.tokens)
        .where(Sentence.project_id == project.id)
        .order_by(Sentence.id)
    ).all()
    rules = None
    if spancat_key(nlp) is None:
        suggester = rule_suggester(session, project)
        tokens = {text: stored for _, text, stored in rows}  # the same text has the same tokens

        def rules(text: str) -> set[tuple[int, int, str]]:
            return {(s.start_char, s.end_char, s.label) for s in suggester.suggest_tokens(text, tokens[text])}

    scores = sentence_uncertainties(nlp, [text for _, text, _ in rows], rules)
    return {sentence_id: score for (sentence_id, _, _), score in zip(rows, scores, strict=True)}


def ranked(session: Session, project: Project, scores: Mapping[int, float]) -> list[dict[str, Any]]:
    """``scores`` ({sentence id: uncertainty}) as rows for :func:`store_ranked`, ranked.

    Ranks run from 0, the highest uncertainty, ties in report order; ids not in the project are left out.
    """
    in_report_order = session.scalars(
        select(Sentence.id).where(Sentence.project_id == project.id).order_by(Sentence.report_id, Sentence.position)
    ).all()
    scored = sorted((i for i in in_report_order if i in scores), key=lambda i: -scores[i])  # stable: ties keep order
    return [
        {"sentence_id": sentence_id, "score": float(scores[sentence_id]), "rank": rank}
        for rank, sentence_id in enumerate(scored)
    ]


def store_ranked(session: Session, rows: list[dict[str, Any]]) -> None:
    """Write rows of :func:`ranked`; the scoring process writes them a batch per transaction, so that no
    claim or save waits long for a sentence row (loaded sentences are not refreshed)."""
    if rows:
        session.execute(_STORE, rows)


def store_uncertainties(session: Session, project: Project, scores: Mapping[int, float]) -> int:
    """Replace the project's scores by ``scores`` ({sentence id: uncertainty}), ranked; how many were stored.

    Every sentence of the project not in ``scores`` becomes unscored. In one transaction: for a
    few sentences (tests, small projects); the scoring process uses :func:`ranked` and :func:`store_ranked`.
    """
    session.flush()  # pending changes first: the loaded sentences are expired below
    session.execute(
        update(Sentence)
        .where(Sentence.project_id == project.id)
        .values(uncertainty=None, uncertainty_rank=None)
        .execution_options(synchronize_session=False)
    )
    rows = ranked(session, project, scores)
    store_ranked(session, rows)
    session.expire_all()  # loaded sentences read their new scores
    return len(rows)


def refresh(session: Session, project: Project, database_url: str) -> bool:
    """Start the scoring process for ``project`` when it is ordered most informative first and has an
    active version (call it after the commit that made the change); whether one was started."""
    from .model_versions import active_version

    version = active_version(session, project) if wanted(project) else None
    if version is None:
        return False
    try:
        launch(project, version.pipeline_dir, database_url)
    except OSError:
        log.warning("project %s: the uncertainty scoring process did not start", project.name, exc_info=True)
        return False
    return True


def launch(project: Project, folder: str | os.PathLike[str], database_url: str) -> subprocess.Popen:
    """Start ``python -m annotator.cli.uncertainty_job PROJECT_ID``, detached; its output in ``folder``/uncertainty.log.

    The database URL reaches it through the environment, as a training run's does.
    """
    Path(folder).mkdir(parents=True, exist_ok=True)
    with open(Path(folder) / LOG_FILE, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", SCORE_MODULE, str(project.id)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "ANNOTATOR_DATABASE_URL": database_url},
            start_new_session=True,
        )
    threading.Thread(target=process.wait, daemon=True, name=f"reap-uncertainty-{process.pid}").start()
    return process
