"""A training run in a process of its own: ``python -m annotator.cli.training_job VERSION_ID``.

Started by ``annotator.services.model_versions.launch`` (the models page), with the
database URL in ``ANNOTATOR_DATABASE_URL``; ``annotator train`` calls
:func:`run_version` in its own process instead. An edge: it owns its transactions.
It exports the project by the version's settings, trains, and writes progress
(every :data:`REPORT_EVERY` seconds), scores or the error back to the version's row.
With the ``curve`` setting it then trains the learning curve and stores it point by
point; a curve that cannot be trained is stored with its error, and the model stays.
A finished run refreshes the queue's uncertainty scores (``uncertainty_job``).
When it finds its version cancelled it stops at once.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

REPORT_EVERY = 1.0  # seconds between progress reports (and checks for a cancel)
CANCELLED_EXIT = 3


def run_version(
    sessions: sessionmaker[Session],
    version_id: int,
    *,
    on_cancel: Callable[[], None] | None = None,
    score: bool = True,
) -> str:
    """Run version ``version_id`` to its end; returns its final status.

    ``on_cancel`` is called (from a watcher thread) when the version is found
    cancelled while it trains; by default the process exits at once with
    :data:`CANCELLED_EXIT`, which is what a cancel means. With ``score``, a
    finished run then refreshes the queue's uncertainty scores with the active
    version (``uncertainty_job.score_project``; projects ordered most informative first).
    """
    from .. import db as database
    from ..export.build import ExportError
    from ..export.curve import FRACTIONS, learning_curve
    from ..export.training import TrainingError, read_progress, train
    from ..models import ModelVersion, Project
    from ..services import model_versions as versions
    from ..services.exports import export_project

    with sessions() as session:
        database.write_transaction(session)
        if not versions.claim_run(session, version_id, os.getpid(), socket.gethostname()):
            session.rollback()
            version = session.get(ModelVersion, version_id)
            return version.status if version is not None else "missing"
        session.commit()
        version = session.get(ModelVersion, version_id)
        assert version is not None
        folder = Path(version.pipeline_dir)
        task, policy, settings = version.task, version.policy, dict(version.settings or {})
        project_id = version.project_id
    folder.mkdir(parents=True, exist_ok=True)
    progress_file = folder / versions.PROGRESS_FILE

    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(REPORT_EVERY):
            with sessions() as session:
                database.write_transaction(session)
                running = versions.report_progress(session, version_id, read_progress(progress_file))
                session.commit()
            if not running and not stop.is_set():
                print(f"Version {version_id} was cancelled; stopping.", file=sys.stderr, flush=True)
                (on_cancel or _exit_cancelled)()
                return

    watcher = threading.Thread(target=watch, daemon=True, name=f"training-{version_id}-watch")
    watcher.start()
    try:
        with sessions() as session:
            project = session.get(Project, project_id)
            assert project is not None
            database.read_snapshot(session)
            export_dir, manifest = export_project(
                session,
                project,
                folder / "export",
                task=task,
                policy=policy,
                dev_fraction=float(settings.get("dev_fraction", 0.2)),
                seed=int(settings.get("seed", 0)),
            )
            session.commit()
            database.write_transaction(session)
            versions.record_export(
                session, version_id, manifest, (export_dir / "config.cfg").read_text(encoding="utf-8")
            )
            session.commit()
        max_steps = settings.get("max_steps")
        eval_frequency = max(1, min(200, max_steps // 4)) if max_steps else None
        scores = train(
            export_dir, folder, max_steps=max_steps, eval_frequency=eval_frequency, progress_file=progress_file
        )
        if settings.get("curve"):
            trained: list = []

            def store_curve(points: list, error: str | None = None) -> None:
                trained[:] = points
                curve = {"fractions": list(FRACTIONS), "points": points, **({"error": error} if error else {})}
                with sessions() as session:
                    database.write_transaction(session)
                    versions.record_curve(session, version_id, curve)
                    session.commit()

            store_curve([])
            try:
                learning_curve(
                    export_dir,
                    folder / "curve",
                    seed=int(settings.get("seed", 0)),
                    max_steps=max_steps,
                    eval_frequency=eval_frequency,
                    full_scores=scores,
                    on_point=store_curve,
                )
            except TrainingError as exc:  # the model trained: keep it, and say why the curve is incomplete
                store_curve(list(trained), f"The learning curve was not trained: {exc}")
    except (ExportError, TrainingError, ValueError) as exc:
        error = str(exc)
    except Exception:  # noqa: BLE001 - any failure is the run's failure, stored for the page
        error = "The run failed unexpectedly:\n" + traceback.format_exc(limit=5)
    else:
        error = None
    stop.set()
    watcher.join(timeout=30)
    with sessions() as session:
        progress = read_progress(progress_file)
        database.write_transaction(session)
        if error is None:
            versions.finish_run(session, version_id, scores=scores, progress=progress)
        else:
            versions.finish_run(session, version_id, error=error, progress=progress)
        session.commit()
        version = session.get(ModelVersion, version_id)
        status = version.status if version is not None else "missing"
    if score and status == "done":
        _score_queue(sessions, project_id)
    return status


def _score_queue(sessions: sessionmaker[Session], project_id: int) -> None:
    from .uncertainty_job import score_project

    try:
        print(score_project(sessions, project_id), file=sys.stderr, flush=True)
    except Exception:  # noqa: BLE001 - the run is done whatever the scores do; the log says why
        print("The queue's uncertainty scores were not refreshed:", file=sys.stderr, flush=True)
        traceback.print_exc(limit=5)


def _exit_cancelled() -> None:
    os._exit(CANCELLED_EXIT)  # spaCy trains in the main thread; only leaving the process stops it


def run_job(argv: list[str], usage: str, what: str, run: Callable[[sessionmaker, int], tuple[str, int]]) -> int:
    """A background job's ``main``: one id argument, the database from ``ANNOTATOR_DATABASE_URL``.

    ``run(sessions, id)`` does the work and returns the line to print and the exit status; 2 for a
    bad argument or no database, naming ``what`` runs.
    """
    from .. import db as database
    from ..services.unit_of_work import session_factory

    if len(argv) != 1 or not argv[0].isdigit():
        print(f"usage: {usage}", file=sys.stderr)
        return 2
    url = os.environ.get("ANNOTATOR_DATABASE_URL")
    if not url:
        print(f"ANNOTATOR_DATABASE_URL is not set: {what} does not know its database.", file=sys.stderr)
        return 2
    engine = database.make_engine(url)
    try:
        line, status = run(session_factory(engine), int(argv[0]))
    finally:
        engine.dispose()
    print(line, flush=True)
    return status


def _run(sessions: sessionmaker, version_id: int) -> tuple[str, int]:
    status = run_version(sessions, version_id)
    return f"Version {version_id}: {status}.", 0 if status == "done" else 1


def main(argv: list[str]) -> int:
    return run_job(argv, "python -m annotator.cli.training_job VERSION_ID", "the run", _run)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
