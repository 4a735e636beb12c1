"""``annotator export`` and ``annotator train``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app

from ..export.gold import DEFAULT_POLICY, POLICIES, check_policy
from .common import fail, session

TASKS = click.Choice(["ner", "spancat"])
# The gold policies and what each exports, from the table in export/gold.py.
POLICY_HELP = "; ".join(f"{p.spelled}: {p.description}" for p in POLICIES.values()) + "."


def _policy(ctx, param, value: str) -> str:
    try:
        return check_policy(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def summary(manifest: dict) -> str:
    """One line: documents per split and label, and what was excluded and why."""
    parts = []
    for split in ("train", "dev"):
        counts = manifest["counts"][split]
        by_label = ", ".join(f"{label} {n}" for label, n in counts["labels"].items())
        parts.append(f"{split} {counts['docs']} docs ({by_label or 'no spans'})")
    excluded = manifest["sentences"]["excluded"]
    why = ", ".join(f"{reason} {n}" for reason, n in excluded.items())
    return "; ".join(parts) + f"; excluded {sum(excluded.values())}" + (f" ({why})" if why else "")


def run_export(project_name, out, task, policy, dev_fraction, seed, force):
    from ..db import read_snapshot
    from ..export.build import ExportError
    from ..services.exports import default_export_dir, export_project
    from ..services.projects import NotFound, get_project, project_status

    db = session()
    try:
        project = get_project(db, project_name)
    except NotFound as exc:
        raise fail(f"{exc}; import reports into it first") from None
    out = Path(out) if out else default_export_dir(current_app.config["EXPORTS_DIR"], project)
    total = project_status(db, project.name)["sentences"]
    read_snapshot(db)  # every batch of the export sees the same committed state
    try:
        with click.progressbar(length=total, label="Exporting", file=sys.stderr) as bar:
            return export_project(
                db,
                project,
                out,
                task=task,
                policy=policy,
                dev_fraction=dev_fraction,
                seed=seed,
                force=force,
                progress=lambda _done: bar.update(1),
            )
    except (ExportError, ValueError) as exc:
        raise fail(f"{exc}. Nothing was written.") from None


@click.command("export")
@click.option("--project", "project_name", required=True)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder; default a new folder under exports/.",
)
@click.option(
    "--task",
    type=TASKS,
    default="ner",
    show_default=True,
    help="ner: spans in doc.ents; spancat: doc.spans['sc'], overlaps allowed.",
)
@click.option("--policy", default=DEFAULT_POLICY, show_default=True, callback=_policy, help=POLICY_HELP)
@click.option("--dev-fraction", type=click.FloatRange(0, 1, max_open=True), default=0.2, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--force", is_flag=True, help="Replace an output folder that is not empty.")
def export(project_name, out, task, policy, dev_fraction, seed, force) -> None:
    """Write train.spacy, dev.spacy, config.cfg, manifest.json and annotations.jsonl.

    A split of more than 10,000 documents is a folder of .spacy shards; spaCy reads either.
    Train with: python -m spacy train DIR/config.cfg --paths.train DIR/train.spacy --paths.dev DIR/dev.spacy
    """
    path, manifest = run_export(project_name, out, task, policy, dev_fraction, seed, force)
    click.echo(f"Exported to {path}: {summary(manifest)}.")


@click.command("train")
@click.option("--project", "project_name", required=True)
@click.option("--task", type=TASKS, default="ner", show_default=True)
@click.option("--policy", default=DEFAULT_POLICY, show_default=True, callback=_policy, help=POLICY_HELP)
@click.option("--dev-fraction", type=click.FloatRange(0, 1, max_open=True), default=0.2, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--max-steps", type=click.IntRange(1), help="Stop after this many steps (default: the config's).")
def train(project_name, task, policy, dev_fraction, seed, max_steps) -> None:
    """Export, train a spaCy pipeline on the CPU, print scores per label, and use it for suggestions.

    The run is kept as the project's next model version (as one started on the project's Models
    page) and becomes the active one: the labelling page offers its predictions.
    """
    from .. import db as database
    from ..models import ModelVersion
    from ..services import model_versions as versions
    from ..services.audit import record_command
    from ..services.projects import NotFound, get_project
    from .training_job import run_version

    db = session(write=True)
    try:
        project = get_project(db, project_name)
    except NotFound as exc:
        raise fail(f"{exc}; import reports into it first") from None
    try:
        version = versions.start_run(
            db,
            project,
            None,
            current_app.config["MODELS_DIR"],
            task=task,
            policy=policy,
            dev_fraction=dev_fraction,
            seed=seed,
            max_steps=max_steps,
        )
    except versions.ModelVersionError as exc:
        raise fail(str(exc)) from None
    db.commit()
    click.echo(f"Training version {version.number} of {project.name!r} ({task}, policy {policy}).")
    try:
        status = run_version(current_app.extensions["annotator.sessionmaker"], version.id)
    except KeyboardInterrupt:
        db.rollback()
        database.write_transaction(db)
        versions.cancel_run(db, project, version.number)
        db.commit()
        raise fail(f"Interrupted: version {version.number} is cancelled.") from None
    db.expire_all()
    database.write_transaction(db)
    version = db.get(ModelVersion, version.id)
    if status != "done" or version is None:
        raise fail(f"Training failed: {version.error if version else status}")
    versions.activate(db, project, version.number)
    overall = (version.scores or {}).get("overall") or {}
    model_path = str(versions.pipeline_path(version))
    record_command(
        db,
        "model.train",
        "project",
        project.id,
        version=version.number,
        task=task,
        policy=policy,
        model_path=model_path,
        content_sha256=version.content_sha256,
        overall={key: overall.get(key) for key in ("p", "r", "f")},
    )
    db.commit()
    counts = version.export_counts or {}
    click.echo(
        "Exported "
        + "; ".join(f"{split} {counts.get(split, {}).get('docs', 0)} docs" for split in ("train", "dev"))
        + "."
    )
    click.echo(f"Trained {task} pipeline, version {version.number}: {model_path}")
    click.echo(f"{'label':<12}{'P':>8}{'R':>8}{'F':>8}")
    for label, score in sorted(((version.scores or {}).get("per_label") or {}).items()):
        click.echo(f"{label:<12}{_pct(score.get('p')):>8}{_pct(score.get('r')):>8}{_pct(score.get('f')):>8}")
    click.echo(f"{'overall':<12}{_pct(overall.get('p')):>8}{_pct(overall.get('r')):>8}{_pct(overall.get('f')):>8}")
    click.echo(
        f"Version {version.number} is now active: the labelling page offers its predictions for {project.name!r}."
    )


def _pct(value) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


COMMANDS = [export, train]
