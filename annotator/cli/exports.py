"""``annotator export`` and ``annotator train``."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import click
from flask import current_app

from ..export.gold import DEFAULT_POLICY, POLICIES, check_policy
from ..fsutil import file_in_the_way
from .common import FiniteFloatRange, fail, session

TASKS = click.Choice(["ner", "spancat"])
DEV_FRACTION = FiniteFloatRange(0, 1, max_open=True)  # the share of reports in dev
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
    from ..services.exports import export_project, export_to_new_folder
    from ..services.projects import NotFound, get_project, project_status

    db = session()
    try:
        project = get_project(db, project_name)
    except NotFound as exc:
        raise fail(f"{exc}; import reports into it first") from None
    target = Path(out) if out else Path(current_app.config["EXPORTS_DIR"])
    total = project_status(db, project.name)["sentences"]
    read_snapshot(db)  # every batch of the export sees the same committed state
    try:
        with click.progressbar(length=total, label="Exporting", file=sys.stderr) as bar:
            settings = dict(
                task=task,
                policy=policy,
                dev_fraction=dev_fraction,
                seed=seed,
                force=force,
                progress=lambda _done: bar.update(1),
            )
            if out:
                return export_project(db, project, target, **settings)
            return export_to_new_folder(db, project, target, **settings)  # a new <project>-<time> folder
    except (ExportError, ValueError) as exc:
        raise fail(f"{exc}. Nothing was written.") from None
    except OSError as exc:  # the folder could not be made or written: under a file, no permission, disk full
        blocker = file_in_the_way(target)
        if blocker is not None:
            raise fail(f"--out {target}: {blocker} is a file, not a folder. Nothing was written.") from None
        raise fail(f"--out {target}: cannot be written ({exc.strerror or exc}). Nothing was written.") from None


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
@click.option("--dev-fraction", type=DEV_FRACTION, default=0.2, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--force",
    is_flag=True,
    help="Replace an earlier export in the output folder (one holding manifest.json and export files only).",
)
def export(project_name, out, task, policy, dev_fraction, seed, force) -> None:
    """Write train.spacy, dev.spacy, config.cfg, manifest.json, annotations.jsonl and incidents.csv/.jsonl.

    A split of more than 10,000 documents is a folder of .spacy shards; spaCy reads either.
    Train with: python -m spacy train DIR/config.cfg --paths.train DIR/train.spacy --paths.dev DIR/dev.spacy
    """
    path, manifest = run_export(project_name, out, task, policy, dev_fraction, seed, force)
    click.echo(f"Exported to {path}: {summary(manifest)}.")


@click.command("train")
@click.option("--project", "project_name", required=True)
@click.option("--task", type=TASKS, default="ner", show_default=True)
@click.option("--policy", default=DEFAULT_POLICY, show_default=True, callback=_policy, help=POLICY_HELP)
@click.option("--dev-fraction", type=DEV_FRACTION, default=0.2, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--max-steps", type=click.IntRange(1), help="Stop after this many steps (default: the config's).")
@click.option(
    "--curve",
    is_flag=True,
    help="Also train on 25, 50 and 75 % of the training sentences (same seed and dev) and say whether F still rises.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the version's scores (and curve) as JSON.")
def train(project_name, task, policy, dev_fraction, seed, max_steps, curve, as_json) -> None:
    """Export, train a spaCy pipeline on the CPU, print scores per label, and use it for suggestions.

    The run is kept as the project's next model version (as one started on the project's Models
    page) and becomes the active one: the labelling page offers its predictions. With --curve the
    learning curve is kept with the version too; --max-steps applies to each of its runs.
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
            curve=curve,
        )
    except versions.ModelVersionError as exc:
        raise fail(str(exc)) from None
    db.commit()
    click.echo(f"Training version {version.number} of {project.name!r} ({task}, policy {policy}).", err=as_json)
    try:
        with _stdout_to_stderr() if as_json else contextlib.nullcontext():
            status = run_version(current_app.extensions["annotator.sessionmaker"], version.id, score=False)
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
    previous = versions.active_version(db, project)
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
    if project.queue_order == "uncertain":  # the new active version ranks the queue
        from .uncertainty_job import score_project

        click.echo(score_project(current_app.extensions["annotator.sessionmaker"], project.id), err=as_json)
    # F 0 on a dev set with spans to find: the pipeline learnt nothing (said on stderr, --json too).
    dev_spans = sum(((version.export_counts or {}).get("dev", {}).get("labels") or {}).values())
    if overall.get("f") == 0 and dev_spans:
        back = f", or make version {previous.number} active again on the Models page" if previous is not None else ""
        click.echo(
            f"Warning: version {version.number} scored F 0 on dev, so it learnt nothing and its suggestions will "
            f"be wrong or missing: train again with more steps (--max-steps) or on more labelled sentences{back}.",
            err=True,
        )
    if as_json:
        click.echo(json.dumps(_train_json(version, model_path), indent=2))
        return
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
    if version.curve is not None:
        for line in curve_lines(version.curve):
            click.echo(line)
    click.echo(
        f"Version {version.number} is now active: the labelling page offers its predictions for {project.name!r}."
    )


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """spaCy's training output goes to stderr, so that stdout holds only the JSON.

    Both Python's ``sys.stdout`` and file descriptor 1: spaCy's loggers bound
    the stdout they write to when they were imported.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _train_json(version, model_path: str) -> dict:
    from ..export.curve import curve_verdict

    curve = version.curve
    verdict = curve_verdict(curve["points"]) if curve and curve.get("points") else None
    return {
        "version": version.number,
        "model": model_path,
        "content_sha256": version.content_sha256,
        "export_counts": version.export_counts,
        "scores": version.scores,
        "curve": None
        if curve is None
        else {**curve, "verdict": None if verdict is None else {"trend": verdict.trend, "text": verdict.text}},
    }


def curve_lines(curve: dict) -> list[str]:
    """The learning curve as a table of F (%) on dev per share of the training sentences, then the verdict."""
    from ..export.curve import curve_verdict

    if curve.get("error"):
        return [curve["error"]]
    points = curve.get("points") or []
    labels = sorted({label for p in points for label in p.get("per_label") or {}})
    header = ["share", "sentences", "overall", *labels]
    rows = [
        [
            f"{100 * p['fraction']:g} %",
            str(p["sentences"]),
            _pct((p.get("overall") or {}).get("f")),
            *(_pct(((p.get("per_label") or {}).get(label) or {}).get("f")) for label in labels),
        ]
        for p in points
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    table = ["  " + "  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in [header, *rows]]
    return ["Learning curve (F on dev, %):", *table, curve_verdict(points).text]


def _pct(value) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


COMMANDS = [export, train]
