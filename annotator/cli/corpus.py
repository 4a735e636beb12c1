"""``annotator init``, ``import``, ``status`` and ``demo``."""

from __future__ import annotations

import json
import secrets
import sys
from concurrent.futures import ThreadPoolExecutor
from importlib.resources import files
from pathlib import Path

import click
from flask import current_app

from .common import InputFile, ensure_schema, fail, session

DEMO_PROJECT = "incidents"
DEMO_USERS = (
    ("admin", "admin"),
    ("reviewer", "reviewer"),
    ("alice", "annotator"),
    ("bob", "annotator"),
    ("chen", "annotator"),
)


def _import_help() -> str:
    """The import command's help, from the table of formats."""
    from ..corpus.formats import FORMATS, extensions_or

    described = " ".join(f"{f.extension}: {f.description.replace('`', '')}" for f in FORMATS.values())
    return (
        f"Import reports from {extensions_or()} files.\n\n{described} A .jsonl record may carry spans in Prodigy's or "
        "doccano's shape. A text already in the project is skipped. If any file is bad, nothing is imported."
    )


@click.command("init")
def init() -> None:
    """Create the database schema, or upgrade it to the latest version."""
    from .. import db as database

    engine = current_app.extensions["annotator.engine"]
    before = ensure_schema()
    state = "up to date" if before == database.SCHEMA_HEAD else f"upgraded from {before or 'empty'}"
    click.echo(f"Database {engine.url.render_as_string(hide_password=True)}: schema {database.SCHEMA_HEAD}, {state}.")


@click.command("import", help=_import_help())
@click.argument("paths", nargs=-1, required=True, type=InputFile(path_type=Path))
@click.option(
    "--project", "project_name", required=True, help="Project to import into; created with the default scheme if new."
)
@click.option("--lang", default="en", show_default=True, help="spaCy language code of a new project's tokenizer.")
@click.option(
    "--as-annotator",
    help="Spans that name no annotator become this annotator's annotations. Not with --as-suggestions.",
)
@click.option(
    "--as-suggestions",
    is_flag=True,
    help="Spans in the files become suggestions, not annotations. Not with --as-annotator.",
)
def import_command(
    paths: tuple[Path, ...], project_name: str, lang: str, as_annotator: str | None, as_suggestions: bool
) -> None:
    from ..corpus.parse import CorpusError, parse_file
    from ..limits import Limits, project_name_problem
    from ..services.users import username_problem

    if as_annotator is not None and as_suggestions:
        # Each option says what the spans become; taking one of them would drop the other without a word.
        raise click.UsageError(
            "--as-annotator and --as-suggestions exclude each other: spans become either that annotator's "
            "annotations or suggestions; give one of the two. Nothing was imported."
        )
    problem = project_name_problem(project_name)
    if problem is not None:
        raise fail(f"{problem}. Nothing was imported.")
    if as_annotator is not None and (problem := username_problem(as_annotator.strip())) is not None:
        raise fail(f"--as-annotator {as_annotator!r}: {problem}. Nothing was imported.")
    limits = Limits.from_config(current_app.config)
    parsed = []
    for path in paths:
        try:
            parsed.append((path.name, parse_file(path.name, path.read_bytes(), limits)))
        except CorpusError as exc:
            raise fail(f"{exc}. Nothing was imported.") from None
    summary = run_import(project_name, parsed, lang=lang, as_annotator=as_annotator, as_suggestions=as_suggestions)
    click.echo(str(summary))


def run_import(project_name, parsed, *, lang="en", as_annotator=None, as_suggestions=False):
    """Import parsed files in one transaction, all of them or none; an ``ImportSummary``."""
    from ..corpus.parse import CorpusError
    from ..limits import Limits
    from ..services.audit import record_command
    from ..services.corpus import ImportSummary, import_reports
    from ..services.projects import InvalidProjectName, get_or_create_project
    from ..services.users import UserError

    db = session(write=True)
    summary = ImportSummary()
    limits = Limits.from_config(current_app.config)
    try:
        project, _ = get_or_create_project(db, project_name, lang=lang)
        total = sum(len(reports) for _, reports in parsed)
        with click.progressbar(length=total, label="Importing reports", file=sys.stderr) as bar:
            for name, reports in parsed:
                summary.add(
                    import_reports(
                        db,
                        project,
                        name,
                        reports,
                        as_annotator=as_annotator,
                        as_suggestions=as_suggestions,
                        progress=bar.update,
                        limits=limits,
                    )
                )
        record_command(
            db, "corpus.import", "project", project.id, files=[name for name, _ in parsed], summary=str(summary)
        )
        db.commit()
    except (CorpusError, UserError, InvalidProjectName) as exc:
        db.rollback()
        raise fail(f"{exc}. Nothing was imported.") from None
    except BaseException:
        db.rollback()
        raise
    return summary


@click.command("status")
@click.option("--project", "project_name", required=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def status(project_name: str, as_json: bool) -> None:
    """Counts for a project: reports, sentences, annotations done / flagged / skipped (each annotator's too), complete sentences, gold, and gold sentences with news since (a flag, or a changed version, saved after their gold)."""
    from ..services.projects import NotFound, get_project, project_status

    db = session()
    try:
        project = get_project(db, project_name)
    except NotFound as exc:
        raise fail(f"{exc}; 'annotator projects' lists them") from None
    counts = project_status(db, project.name)
    db.rollback()  # read only
    if as_json:
        click.echo(json.dumps(counts))
    else:
        click.echo(", ".join(f"{key}: {value}" for key, value in counts.items() if key != "annotators"))
        for name, mine in counts["annotators"].items():
            click.echo(f"  {name}: " + ", ".join(f"{key}: {value}" for key, value in mine.items()))


def _list_projects(as_json: bool) -> None:
    from ..services.projects import list_projects, project_status

    db = session()
    rows = [{**summary, **project_status(db, summary["name"])} for summary in list_projects(db)]
    db.rollback()  # read only
    if as_json:
        click.echo(json.dumps(rows))
        return
    if not rows:
        click.echo(
            "No projects yet. Create one with 'annotator projects create NAME' or 'annotator import PATH --project NAME'."
        )
        return
    for row in rows:
        access = "members only" if row["restricted"] else "open"
        order = "most uncertain first" if row["queue_order"] == "uncertain" else "report order"
        counts = ", ".join(
            f"{key} {row[key]}" for key in ("reports", "sentences", "done", "flagged", "skipped", "complete", "gold")
        )
        click.echo(
            f"{row['name']} ({row['lang']}, {row['annotators_per_sentence']} per sentence, {access}, {order}): {counts}"
        )


@click.group("projects", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (with no subcommand: the list).")
@click.pass_context
def projects(ctx: click.Context, as_json: bool) -> None:
    """List the projects (the same as 'annotator projects list'), or create one."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_command, as_json=as_json)


@projects.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def list_command(as_json: bool) -> None:
    """List the projects, each with its settings and counts (those of 'annotator status')."""
    _list_projects(as_json)


@projects.command("create")
@click.argument("name")
@click.option("--lang", default="en", show_default=True, help="spaCy language code of the project's tokenizer.")
@click.option(
    "--annotators-per-sentence", default=2, show_default=True, type=int, help="Annotators each sentence needs."
)
@click.option("--restricted", is_flag=True, help="Only members may annotate (add them on the project's admin page).")
@click.option(
    "--labels",
    "labels_path",
    type=InputFile(path_type=Path),
    help='The label scheme: a JSON list of {"name", "kind", "description"?, "colour"?, "key"?}. '
    "Default: REGION, COUNT, OUTCOME.",
)
@click.option(
    "--guidelines",
    "guidelines_path",
    type=InputFile(path_type=Path),
    help="The guidelines, a Markdown file. Default: the shipped guidelines.",
)
@click.option(
    "--queue-order",
    type=click.Choice(["report", "uncertain"]),
    default="report",
    show_default=True,
    help="The order sentences are served in: report order, or uncertain (most informative first: "
    "those the active model version is least certain about first).",
)
def create(
    name: str,
    lang: str,
    annotators_per_sentence: int,
    restricted: bool,
    labels_path: Path | None,
    guidelines_path: Path | None,
    queue_order: str,
) -> None:
    """Create project NAME with its settings, label scheme and guidelines. Nothing is created if any is invalid."""
    from ..limits import LimitExceeded, Limits, parse_json
    from ..services.projects import ProjectError, create_project, project_staffing_problem

    limits = Limits.from_config(current_app.config)
    labels = None
    if labels_path is not None:
        try:
            labels = parse_json(labels_path.read_bytes(), limits.max_json_depth)
        except LimitExceeded as exc:
            raise fail(f"{labels_path.name}: {exc.message}. Nothing was created.") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise fail(f"{labels_path.name} is not JSON ({exc}). Nothing was created.") from None
        if not isinstance(labels, list):
            raise fail(f'{labels_path.name}: write a JSON list of {{"name", "kind", ...}} labels. Nothing was created.')
    guidelines = None
    if guidelines_path is not None:
        try:
            guidelines = guidelines_path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise fail(f"{guidelines_path.name} is not UTF-8 text. Nothing was created.") from None
    db = session(write=True)
    try:
        project = create_project(
            db,
            name,
            lang=lang,
            annotators_per_sentence=annotators_per_sentence,
            restricted=restricted,
            labels=labels,
            guidelines=guidelines,
            queue_order=queue_order,
            limits=limits,
        )
        db.commit()
    except ProjectError as exc:
        db.rollback()
        raise fail(f"{exc.message}. Nothing was created.") from None
    except BaseException:
        db.rollback()
        raise
    access = "members only" if project.restricted else "open"
    click.echo(
        f"Created project {project.name} ({project.lang}, {project.annotators_per_sentence} per sentence, {access}; "
        f"labels {', '.join(label['name'] for label in project.labels)})."
    )
    warning = project_staffing_problem(db, project)
    db.rollback()  # read only
    if warning is not None:
        click.echo(f"Warning: {warning}.", err=True)


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Load the demo data and accounts, then exit.")
@click.option(
    "--annotated-reports",
    default=8,
    show_default=True,
    type=click.IntRange(0),
    help="Reports that bob and chen have labelled already, so review has data.",
)
def demo(host: str, port: int, no_serve: bool, annotated_reports: int) -> None:
    """Load the demo corpus, accounts and gold for reports 1-10 (reusing them if there), print the logins, serve."""
    from ..corpus.parse import parse_file
    from ..services.audit import record_command
    from ..services.demo import load_gold, simulate_annotations
    from ..services.projects import get_project
    from ..services.users import create_user, get_user, hash_password, set_password_hash

    db = session(write=True)
    passwords = [secrets.token_urlsafe(9) for _ in DEMO_USERS]
    with ThreadPoolExecutor(max_workers=len(DEMO_USERS)) as hashing:
        # The hashes are made while the corpus is imported: hashing releases the GIL (~0.1 s of CPU each).
        hashes = hashing.map(hash_password, passwords)
        data = files("annotator.data").joinpath("demo_reports.jsonl").read_bytes()
        reports = parse_file("demo_reports.jsonl", data)
        summary = run_import(DEMO_PROJECT, [("demo_reports.jsonl", reports)])
        logins = []
        for (name, role), password, password_hash in zip(DEMO_USERS, passwords, hashes, strict=True):
            try:
                user = get_user(db, name)
                record_command(db, "user.password", "user", user.id, username=name)
            except LookupError:
                user = create_user(db, name, role, None)
                record_command(db, "user.create", "user", user.id, username=name, role=role)
            set_password_hash(user, password_hash)
            logins.append((name, role, password))
    db.flush()
    project = get_project(db, DEMO_PROJECT)
    gold_data = files("annotator.data").joinpath("demo_gold.jsonl").read_bytes()
    gold, incidents = load_gold(db, project, get_user(db, "reviewer"), gold_data)
    labelled = simulate_annotations(db, project, [get_user(db, "bob"), get_user(db, "chen")], reports=annotated_reports)
    db.commit()
    click.echo(
        f"Demo project {DEMO_PROJECT!r}: {summary}; gold for {gold} sentences ({incidents} incidents) "
        f"adjudicated by reviewer; {labelled} annotations added by bob and chen (each labels the last {annotated_reports} reports)."
    )
    click.echo("Accounts (passwords are new on every run):")
    for name, role, password in logins:
        click.echo(f"  {name:<9} {role:<10} {password}")
    if no_serve:
        return
    click.echo(f"Open http://{host}:{port}/ and log in. Stop with Ctrl+C.")
    from werkzeug.serving import run_simple

    from ..app import create_app, warm_up

    served = current_app._get_current_object()
    if "auth" not in served.blueprints:  # the command's own app has no pages (cli._create_app)
        served = create_app({"DATABASE_URL": served.config["DATABASE_URL"]})
    warm_up(served)  # so that the first labelling request does not load spaCy and the rules
    # Flask's app.run() refuses to start inside a CLI command; serve the app directly.
    run_simple(host, port, served, threaded=True)


COMMANDS = [init, import_command, status, projects, demo]
