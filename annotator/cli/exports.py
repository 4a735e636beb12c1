"""``annotator export`` and ``annotator train``."""

from __future__ import annotations

import sys
import tempfile
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
    """Export, train a spaCy pipeline on the CPU, print scores per label, and use it for suggestions."""
    from ..export.training import TrainingError
    from ..export.training import train as train_pipeline
    from ..services.audit import record_command
    from ..services.exports import safe_name
    from ..services.projects import get_project

    instance = Path(current_app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=instance) as tmp:
        path, manifest = run_export(project_name, Path(tmp) / "export", task, policy, dev_fraction, seed, False)
        click.echo(f"Exported {summary(manifest)}.")
        db = session(write=True)
        project = get_project(db, project_name)
        output = (
            instance / "models" / f"{safe_name(project.name)}-{task}-{manifest['created_at'].replace(':', '')[:15]}"
        )
        try:
            scores = train_pipeline(
                path, output, max_steps=max_steps, eval_frequency=min(200, max_steps) if max_steps else None
            )
        except TrainingError as exc:
            raise fail(str(exc)) from None
    project.model_path = str(output / "model-best")
    overall = scores.get("overall", {})
    record_command(
        db,
        "model.train",
        "project",
        project.id,
        task=task,
        policy=policy,
        model_path=project.model_path,
        exported=summary(manifest),
        content_sha256=manifest["content_sha256"],
        overall={key: overall.get(key) for key in ("p", "r", "f")},
    )
    db.commit()
    click.echo(f"Trained {task} pipeline: {output / 'model-best'}")
    click.echo(f"{'label':<12}{'P':>8}{'R':>8}{'F':>8}")
    for label, score in sorted(scores.get("per_label", {}).items()):
        click.echo(f"{label:<12}{_pct(score.get('p')):>8}{_pct(score.get('r')):>8}{_pct(score.get('f')):>8}")
    click.echo(f"{'overall':<12}{_pct(overall.get('p')):>8}{_pct(overall.get('r')):>8}{_pct(overall.get('f')):>8}")
    click.echo(f"The labelling page now offers this pipeline's predictions as suggestions for {project.name!r}.")


def _pct(value) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


COMMANDS = [export, train]
