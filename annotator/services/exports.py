"""Export a project as spaCy training data, and train from it."""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from ..agreement import pairwise_span_f1
from ..export import ExportError, build_export, write_export
from ..models import Project, utcnow
from ..text import make_nlp
from .records import project_records


def default_export_dir(exports_dir: str | Path, project: Project, now: datetime | None = None) -> Path:
    """A new folder name under ``exports_dir``: ``<project>-<UTC timestamp>``."""
    stamp = (now or utcnow()).strftime("%Y%m%dT%H%M%S")
    return Path(exports_dir) / f"{safe_name(project.name)}-{stamp}"


def safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip(".-") or "project"


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
) -> tuple[Path, dict[str, Any]]:
    """Write the project's export into ``out_dir`` atomically; returns it and the manifest.

    Raises ExportError (nothing written) for an empty export or an output
    folder that exists and is not empty without ``force``; ValueError for an
    unknown task or policy.
    """
    records = project_records(session, project)
    voting = [a for a in records.annotations if a.status in ("done", "flagged")]
    f1 = pairwise_span_f1((a.annotator, a.sentence_id, a.spans) for a in voting)
    agreement = {"span_f1": {"overall": f1["overall"], "by_label": f1["by_label"]}, "pairs": len(f1["pairs"])}
    result = build_export(
        make_nlp(project.lang),
        records.sentences,
        records.annotations,
        records.gold,
        project=project.name,
        task=task,
        policy=policy,
        dev_fraction=dev_fraction,
        seed=seed,
        labels=[label["name"] for label in project.labels],
        agreement=agreement,
        progress=progress,
    )
    path = write_export(result, out_dir, force=force)
    return path, result.manifest


__all__ = ["ExportError", "default_export_dir", "export_project", "safe_name"]
