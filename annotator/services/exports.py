"""Export a project as spaCy training data, and train from it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime
from glob import escape as glob_escape
from itertools import count
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..corpus.text import make_nlp
from ..export.align import linked_labels
from ..export.build import SHARD_SIZE, ExportBatch, ExportError, stream_export
from ..export.gold import policy_argument
from ..models import Project, Report, utcnow
from .projects import project_status
from .rows import iter_project_records


def default_export_dir(exports_dir: str | Path, project: Project, now: datetime | None = None) -> Path:
    """A new folder name under ``exports_dir``: ``<project>-<UTC timestamp>``.

    A second export in the same second gets ``-2`` (then ``-3``, ...), so that neither
    replaces nor refuses the other: a name counts as taken while its folder or an
    export's temporary folder for it (``.<name>.*``) is there.
    """
    root = Path(exports_dir)
    name = f"{safe_name(project.name)}-{(now or utcnow()).strftime('%Y%m%dT%H%M%S')}"
    for n in count(1):
        candidate = name if n == 1 else f"{name}-{n}"
        if not (root / candidate).exists() and not any(root.glob(f".{glob_escape(candidate)}.*")):
            return root / candidate
    raise AssertionError("unreachable")


def safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip(".-") or "project"


def export_to_new_folder(
    session: Session, project: Project, exports_dir: str | Path, **settings: Any
) -> tuple[Path, dict[str, Any]]:
    """:func:`export_project` into a new folder under ``exports_dir`` (:func:`default_export_dir`).

    A name that another export of the same second took after it was chosen (its folder appeared
    while this one ran, and :func:`export_project` refused to replace it) is passed for the next.
    """
    for attempt in range(2):
        out = default_export_dir(exports_dir, project)
        try:
            return export_project(session, project, out, **settings)
        except ExportError:
            if attempt or not out.exists():
                raise
    raise AssertionError("unreachable")


def check_policy_accounts(session: Session, policy: str) -> None:
    """``ValueError`` when ``policy`` is unknown or names an annotator (``annotator:NAME``) no account has:
    said as such, before any work, not as a project with nothing to export."""
    from .projects import NotFound
    from .users import get_user

    name = policy_argument(policy)
    if name is not None:
        try:
            get_user(session, name)  # as the policy reads it: "bob " names no account
        except NotFound:
            raise ValueError(f"gold policy {policy!r}: there is no account named {name!r}") from None


def export_project(
    session: Session,
    project: Project,
    out_dir: str | Path,
    *,
    task: str = "ner",
    policy: str = "majority",
    dev_fraction: float = 0.2,
    seed: int = 0,
    force: bool = False,
    progress: Callable[[int], None] | None = None,
    batch_sentences: int = 2000,
    shard_size: int = SHARD_SIZE,
) -> tuple[Path, dict[str, Any]]:
    """Write the project's export into ``out_dir`` atomically; returns it and the manifest.

    Streams: the records are read ``batch_sentences`` at a time (whole
    reports) and the agreement is tallied as they pass, so memory does not
    grow with the project (``stream_export``; splits above ``shard_size``
    Docs become folders of shards). Raises ExportError (nothing written) for
    an empty export or an output folder that exists and is not empty without
    ``force``; ValueError for an unknown task or policy.
    """
    from ..metrics.gold_scores import GoldScoreTally  # numpy: loaded by an export, not with the app
    from ..metrics.tally import SpanF1Tally

    check_policy_accounts(session, policy)

    labels = [label["name"] for label in project.labels]
    tally = SpanF1Tally()
    gold_scores = GoldScoreTally(labels)

    def batches() -> Iterator[ExportBatch]:
        for records in iter_project_records(
            session, project, batch_sentences=batch_sentences, tokens=False, suggestions=False
        ):
            tally.add(a for a in records.annotations if a.status in ("done", "flagged"))
            gold_scores.add(records.sentences, records.annotations, records.gold.values())
            yield records.sentences, records.annotations, records.gold

    def agreement() -> dict[str, Any]:
        f1 = tally.summary()
        return {
            "span_f1": {"overall": f1["overall"], "by_label": f1["by_label"]},
            "pairs": f1["pairs"],
            "annotator_vs_gold": gold_scores.summary(),
        }

    with linked_labels(project.labels):  # the project's region labels carry their value as kb_id_
        return stream_export(
            make_nlp(project.lang),
            batches(),
            out_dir,
            project=project.name,
            task=task,
            policy=policy,
            dev_fraction=dev_fraction,
            seed=seed,
            labels=labels,
            agreement=agreement,
            status=project_status(session, project.name),
            progress=progress,
            force=force,
            shard_size=shard_size,
            # The incident table names reports by their number in the project (two integers per report).
            report_numbers={
                report_id: number
                for report_id, number in session.execute(
                    select(Report.id, Report.number).where(Report.project_id == project.id)
                )
            },
        )


__all__ = [
    "ExportError",
    "check_policy_accounts",
    "default_export_dir",
    "export_project",
    "export_to_new_folder",
    "safe_name",
]
