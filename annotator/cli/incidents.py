"""``annotator extract`` and ``annotator evaluate-incidents``: incidents from new reports, and how good they are."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .common import InputFile, fail, session


def _project(db, name: str):
    from ..services.projects import NotFound, get_project

    try:
        return get_project(db, name)
    except NotFound:
        raise fail(f"No project named {name!r}. 'annotator projects' lists them.") from None


@click.command("extract")
@click.option("--project", "project_name", required=True, help="The project whose model and labels extract.")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="Write the incident table here: FILE.csv or FILE.jsonl (default: CSV on standard output).",
)
@click.argument("paths", nargs=-1, required=True, type=InputFile())
def extract(project_name: str, out: Path | None, paths: tuple[str, ...]) -> None:
    """Extract incidents from new report files (any import format) into an incident table.

    The project's active model version finds the spans (else the rule suggestions, with a note); their
    values are normalised by their labels' kinds and the rule baseline links each sentence's spans into
    incidents. One row per incident: report, sentence, region, count, outcome, their spans (offsets into
    the report) and the model. The reports are not stored.
    """
    from ..incidents.table import csv_header, csv_line, jsonl_row
    from ..services.incident_extraction import ExtractionError, extract_reports, read_files

    # A wrong --out is a wrong argument, told before the reports are read (exit 2, as click's own checks).
    if out is not None and out.suffix.lower() not in (".csv", ".jsonl"):
        raise click.BadParameter(f"{out.name}: name a .csv or .jsonl file", param_hint="'--out'")
    if out is not None and out.is_dir():
        raise click.BadParameter(f"{out}: is a directory; name a .csv or .jsonl file in it", param_hint="'--out'")
    if out is not None and not out.parent.is_dir():
        if out.parent.exists():
            raise click.BadParameter(
                f"{out}: {out.parent} is a file, not a folder; name a file in a folder", param_hint="'--out'"
            )
        raise click.BadParameter(
            f"{out}: the folder {out.parent} does not exist; create it first", param_hint="'--out'"
        )
    db = session()
    project = _project(db, project_name)
    try:
        rows, finder, n_reports = extract_reports(db, project, read_files(paths))
    except ExtractionError as exc:
        raise fail(str(exc)) from None
    finally:
        db.rollback()  # read only
    if out is not None and out.suffix.lower() == ".jsonl":
        table = "".join(map(jsonl_row, rows))
    else:
        table = csv_header() + "".join(map(csv_line, rows))
    if finder.note:
        click.echo(f"Note: {finder.note}.", err=True)
    summary = (
        f"{len(rows)} incident{'' if len(rows) == 1 else 's'} in {n_reports} report{'' if n_reports == 1 else 's'}, "
        f"spans by {finder.name}"
    )
    if out is None:
        click.echo(table, nl=False)
        click.echo(summary + ".", err=True)
        return
    _write(out, table.encode("utf-8"))
    click.echo(f"{summary}: wrote {out}.")


def _write(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all: a temporary file beside it, renamed over it."""
    import os

    from ..fsutil import fsync_path

    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_path(path.parent if str(path.parent) else Path("."))
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise fail(f"--out {path}: cannot be written ({exc.strerror})") from None


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def format_evaluation(result: dict) -> str:
    """The scores as a table: one row per field and one for whole incidents, for the chain and the linker."""
    held = "" if result["model"] == "rules" else " it did not train on"
    lines = [
        f"Incidents of {result['model']} on {result['sentences']} adjudicated sentences{held} "
        f"({result['gold_incidents']} gold incidents; {result['excluded']} sentences of its training reports left out)."
    ]
    if result["note"]:
        lines.append(f"Note: {result['note']}.")
    for title, key in (("extract (spans found, linked)", "extract"), ("linker alone (on the gold spans)", "linker")):
        scores = result[key]
        lines.append(f"{title}:")
        lines.append(f"  {'':<9}{'P':>7}{'R':>7}{'F':>7}  correct/predicted/gold")
        for name, s in [*scores["fields"].items(), ("incident", scores["incident"])]:
            lines.append(
                f"  {name:<9}{_num(s['precision']):>7}{_num(s['recall']):>7}{_num(s['f']):>7}  "
                f"{s['correct']}/{s['predicted']}/{s['gold']}"
            )
    return "\n".join(lines)


@click.command("evaluate-incidents")
@click.option("--project", "project_name", required=True, help="The project to score.")
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
def evaluate_incidents(project_name: str, as_json: bool) -> None:
    """Score 'annotator extract' against adjudicated incidents it did not train on.

    Precision, recall and F per field (region, count, outcome: the values of a sentence's incidents) and
    for whole incidents (all three fields the same), on the adjudicated sentences outside the active
    version's training reports (with no active version, the rule suggestions on all of them). The rule
    linker alone, on the gold spans, is scored too.
    """
    from ..services.incident_extraction import ExtractionError, evaluate_extraction

    db = session()
    project = _project(db, project_name)
    try:
        result = evaluate_extraction(db, project)
    except ExtractionError as exc:
        raise fail(str(exc)) from None
    finally:
        db.rollback()  # read only
    click.echo(json.dumps(result, indent=2) if as_json else format_evaluation(result))


COMMANDS = [extract, evaluate_incidents]
