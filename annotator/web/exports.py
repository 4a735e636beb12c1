"""Export pages: build a dataset and download it (reviewers and admins)."""

from __future__ import annotations

import json
import tempfile
import zipfile
from decimal import Decimal
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, send_file, url_for
from werkzeug.utils import safe_join
from wtforms import IntegerField, SelectField, StringField
from wtforms.fields import SelectChoice
from wtforms.validators import NumberRange, ValidationError

from ..db import read_snapshot
from ..export.build import FILES, ExportError
from ..export.files import INCIDENT_FILES, SPLIT_FILES, split_files
from ..export.gold import DEFAULT_POLICY, POLICIES, check_policy
from ..extensions import get_session
from ..services.exports import check_policy_accounts, export_to_new_folder, safe_name
from ..services.projects import NotFound, annotator_names, get_project
from .auth import roles_required
from .forms import FiniteDecimalField, Form

bp = Blueprint("exports", __name__)


# The choices of the export form and of the training form (web.model_pages).
TASK_CHOICES = [
    SelectChoice("ner", "ner: doc.ents"),
    SelectChoice("spancat", "spancat: doc.spans['sc'], overlaps allowed"),
]
# From the table of gold policies; the default first. A parametrised one (annotator:NAME) takes its
# argument from the field below it.
POLICY_CHOICES = [
    SelectChoice(p.name, p.name if p.argument is None else p.description)
    for p in sorted(POLICIES.values(), key=lambda p: p.name != DEFAULT_POLICY)
]


class PolicyAnnotatorCheck:
    """The annotator field of a form with a gold policy: needed by a parametrised policy (annotator:NAME),
    and then an account's name, so that a blank or mistyped name is said as such, not as an unknown
    policy or a project with nothing to export."""

    def validate_annotator(self, field) -> None:
        policy = POLICIES.get(self.policy.data)  # type: ignore[attr-defined]
        if policy is None or policy.argument is None:
            return
        name = (field.data or "").strip()
        if not name:
            raise ValidationError(f'name the annotator for the policy "{policy.description}"')
        try:
            check_policy_accounts(get_session(), f"{policy.name}:{name}")
        except ValueError:
            raise ValidationError(f"there is no account named {name!r}") from None


class ExportForm(PolicyAnnotatorCheck, Form):
    task = SelectField("Task", choices=TASK_CHOICES)
    policy = SelectField("Gold policy", choices=POLICY_CHOICES)
    annotator = StringField("Annotator (for that policy)")  # checked by PolicyAnnotatorCheck
    # Decimal bounds: the field's value is a Decimal, and Decimal("0.95") is above the float 0.95.
    dev_fraction = FiniteDecimalField(
        "Dev fraction", default=0.2, places=2, validators=[NumberRange(Decimal("0"), Decimal("0.95"))]
    )
    seed = IntegerField("Seed", default=0, validators=[NumberRange(0, 2**31 - 1)])


def _project(name: str):
    try:
        return get_project(get_session(), name)
    except NotFound:
        abort(404)


def _exports_dir() -> Path:
    return Path(current_app.config["EXPORTS_DIR"])


def project_exports(project) -> list[dict]:
    """Finished exports of ``project`` in the exports folder, newest first."""
    root = _exports_dir()
    if not root.is_dir():
        return []
    found = []
    for path in root.glob(f"{safe_name(project.name)}-*"):
        manifest = _finished_manifest(path)
        if manifest is not None and manifest.get("project") == project.name:
            found.append({"name": path.name, "manifest": manifest})
    # Newest first; two of one second by name, so that "-2" comes before the first of that second.
    return sorted(found, key=lambda e: (e["manifest"].get("created_at", ""), e["name"]), reverse=True)


def _finished_manifest(path: Path) -> dict | None:
    """The manifest of a complete export folder; None for anything else found there.

    The exports folder may hold other things (a hand-made folder, a damaged
    copy): only folders with all the export's files and a readable manifest count.
    train.spacy and dev.spacy may be folders of shards (a large export).
    """
    if path.name.startswith(".") or not all(
        (path / file).is_file() or (file in SPLIT_FILES and (path / file).is_dir()) or file in INCIDENT_FILES
        for file in FILES
    ):
        return None
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (
        not isinstance(manifest, dict)
        or not isinstance(manifest.get("counts"), dict)
        or not isinstance(manifest.get("sentences"), dict)
    ):
        return None
    return manifest


def _export_path(project, name: str) -> Path:
    """The export folder ``name`` of ``project``, or 404: never a path outside the exports folder."""
    joined = safe_join(str(_exports_dir()), name)
    if joined is None or "/" in name:
        abort(404)
    path = Path(joined)
    manifest = _finished_manifest(path)
    if manifest is None or manifest.get("project") != project.name:
        abort(404)
    return path


@bp.route("/projects/<project>/export", methods=["GET", "POST"])
@roles_required("admin", "reviewer")
def index(project):
    project = _project(project)
    form = ExportForm()
    if form.validate_on_submit():
        policy = form.policy.data
        if POLICIES[policy].argument is not None:
            policy = f"{policy}:{(form.annotator.data or '').strip()}"
        try:
            check_policy(policy)
            # A long read: release the request's write lock and read one consistent state.
            read_snapshot(get_session())
            path, manifest = export_to_new_folder(
                get_session(),
                project,
                _exports_dir(),
                task=form.task.data,
                policy=policy,
                dev_fraction=float(form.dev_fraction.data),
                seed=form.seed.data,
            )
        except (ExportError, ValueError) as exc:
            flash(f"Export failed: {exc}. Nothing was written.", "error")
        else:
            counts = manifest["counts"]
            flash(
                f"Exported {counts['train']['docs']} train and {counts['dev']['docs']} dev documents to {path.name}.",
                "success",
            )
            return redirect(url_for("exports.index", project=project.name))
    page = render_template(
        "exports.html",
        project=project,
        form=form,
        exports=project_exports(project),
        policies=POLICIES,
        annotators=annotator_names(get_session(), project),
    )
    return page, 400 if form.errors else 200  # a form refused is a 400, as on the other pages


@bp.route("/projects/<project>/exports/<name>.zip")
@roles_required("admin", "reviewer")
def download(project, name):
    project = _project(project)
    path = _export_path(project, name)
    # Built in a temporary file, not in memory: a large export's zip takes gigabytes.
    spool = tempfile.TemporaryFile()
    try:
        with zipfile.ZipFile(spool, "w", zipfile.ZIP_DEFLATED) as archive:
            for file in FILES:
                if (path / file).is_dir():  # a split in shards: train.spacy/000.spacy, ...
                    for shard in split_files(path / file):
                        archive.write(shard, f"{name}/{file}/{shard.name}")
                elif (path / file).is_file():  # an export made before the incident table lacks it
                    archive.write(path / file, f"{name}/{file}")
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return send_file(spool, mimetype="application/zip", as_attachment=True, download_name=f"{name}.zip")


@bp.route("/projects/<project>/exports/<name>/<file>")
@roles_required("admin", "reviewer")
def download_file(project, name, file):
    project = _project(project)
    if file not in FILES:
        abort(404)
    path = _export_path(project, name)
    if not (path / file).is_file():  # a folder of shards: download the zip
        abort(404)
    return send_file(path / file, as_attachment=True, download_name=file)
