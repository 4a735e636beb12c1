"""Import limits, on each backend: a clear file-and-line error (CLI exit 1, web 400), never a traceback, nothing stored."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select

from annotator.models import Annotation, Project, Report, User


def _counts(db) -> tuple[int, int, int]:
    db.expire_all()
    return tuple(db.scalar(select(func.count()).select_from(t)) for t in (Project, Report, Annotation))


def _refused(result, *words: str) -> None:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # a message, no traceback
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.output, result.output


def _jsonl(path, *records) -> str:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("record", "words"),
    [
        (
            {"id": "i" * 256, "text": "Two drones fell."},
            ['"id" is 256 characters long', "255", "MAX_EXTERNAL_ID_CHARS"],
        ),
        (
            {"source": "s" * 1025, "text": "Two drones fell."},
            ['"source" is 1,025 characters long', "1,024", "MAX_SOURCE_CHARS"],
        ),
        ({"meta": {"id": "m" * 300}, "text": "Two drones fell."}, ['"id" is 300 characters long']),
        ({"text": "Two drones fell.", "spans": [], "_annotator_id": "a" * 81}, ["annotator's name must be 1 to 80"]),
    ],
    ids=["id", "source", "meta-id", "annotator-name"],
)
def test_import_limits_field_lengths_refused_before_the_database(runner, db, tmp_path, record, words):
    path = _jsonl(tmp_path / "f.jsonl", {"text": "A fine report."}, record)
    _refused(runner.invoke(args=["import", path, "--project", "p"]), "f.jsonl, line 2", *words)
    assert _counts(db) == (0, 0, 0)


@pytest.mark.parametrize("field", ["id", "source", "_annotator_id", "_session_id", "meta.id", "meta.source"])
@pytest.mark.parametrize(
    ("value", "shown"),
    [({"n": 1}, '{"n": 1}'), ([1, 2], "[1, 2]"), (1.5, "1.5"), (True, "true"), (False, "false"), ({}, "{}")],
)
def test_import_limits_id_source_and_annotator_of_another_json_type_are_refused(
    runner, db, tmp_path, field, value, shown
):
    record = {"text": "Two drones fell.", "spans": [{"start": 0, "end": 3, "label": "COUNT"}]}
    if field.startswith("meta."):
        record["meta"] = {field.removeprefix("meta."): value}
    else:
        record[field] = value
    path = _jsonl(tmp_path / "f.jsonl", {"text": "A fine report.", "_annotator_id": "ann", "spans": []}, record)
    _refused(
        runner.invoke(args=["import", path, "--project", "p", "--as-annotator", "ann"]),
        f'f.jsonl, line 2: "{field}" must be a string or an integer, not {shown}',
    )
    assert _counts(db) == (0, 0, 0)


def test_import_limits_annotator_of_another_json_type_is_refused_on_a_line_without_spans(runner, db, tmp_path):
    path = _jsonl(tmp_path / "f.jsonl", {"text": "A fine report."}, {"text": "Two drones fell.", "_annotator_id": []})
    _refused(
        runner.invoke(args=["import", path, "--project", "p"]),
        'f.jsonl, line 2: "_annotator_id" must be a string or an integer, not []',
    )
    assert _counts(db) == (0, 0, 0)


def test_import_limits_id_source_and_annotator_may_be_integers(runner, db, tmp_path):
    record = {"id": 7, "source": 2026, "text": "Two drones fell.", "_annotator_id": 12, "spans": []}
    result = runner.invoke(args=["import", _jsonl(tmp_path / "f.jsonl", record), "--project", "p"])
    assert result.exit_code == 0, result.output
    report = db.scalar(select(Report))
    assert (report.external_id, report.source) == ("7", "2026")
    assert db.scalar(select(User.username).join(Annotation, Annotation.user_id == User.id)) == "12"


def test_import_limits_field_lengths_at_the_limit_are_stored(runner, db, tmp_path):
    path = _jsonl(tmp_path / "f.jsonl", {"id": "i" * 255, "source": "s" * 1024, "text": "Two drones fell."})
    assert runner.invoke(args=["import", path, "--project", "p"]).exit_code == 0
    report = db.scalar(select(Report))
    assert (len(report.external_id), len(report.source)) == (255, 1024)


def test_import_limits_report_longer_than_max_report_chars(app, runner, db, tmp_path):
    app.config["MAX_REPORT_CHARS"] = 1000
    path = _jsonl(tmp_path / "f.jsonl", {"text": "Fine."}, {"text": "Forty drones fell. " * 60})
    _refused(
        runner.invoke(args=["import", path, "--project", "p"]),
        "f.jsonl, line 2",
        "1,140 characters",
        "MAX_REPORT_CHARS",
    )
    assert _counts(db) == (0, 0, 0)


def test_import_limits_report_longer_than_the_tokenizer_takes(app, runner, db, tmp_path):
    app.config["MAX_REPORT_CHARS"] = 5_000_000  # set above spaCy's own limit: the tokenizer's is checked too
    text = ("Forty drones fell over Kursk. " * 40_000)[:1_000_001]
    path = _jsonl(tmp_path / "f.jsonl", {"text": text})
    _refused(
        runner.invoke(args=["import", path, "--project", "p"]),
        "f.jsonl, line 1",
        "1,000,001 characters",
        "at most 1,000,000",
    )
    assert _counts(db) == (0, 0, 0)


def test_import_limits_sentence_longer_than_max_sentence_chars(app, runner, db, tmp_path):
    app.config["MAX_SENTENCE_CHARS"] = 50
    path = _jsonl(tmp_path / "f.jsonl", {"text": "Short one. " + "word " * 20 + "without an end"})
    _refused(
        runner.invoke(args=["import", path, "--project", "p"]), "f.jsonl, line 1", "sentence 2", "MAX_SENTENCE_CHARS"
    )
    assert _counts(db) == (0, 0, 0)


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ('{"text": "Deep.", "meta": ' + "[" * 50 + "]" * 50 + "}", ["MAX_JSON_DEPTH"]),
        ('{"text": "Deep.", "meta": {"x": ' + "[" * 100_000 + "]" * 100_000 + "}}", ["MAX_JSON_DEPTH"]),
        ('{"text": "Big.", "id": ' + "9" * 5000 + "}", ["invalid JSON"]),
        ('{"text": "Bad \\ud800 text."}', ["surrogate"]),
        ('{"text": "Bad \\u0000 text."}', ["NUL"]),
        ('{"text": "Fine.", "source": "\\udfff"}', ["surrogate"]),
    ],
    ids=["deep", "very-deep", "huge-int", "text-surrogate", "text-nul", "source-surrogate"],
)
def test_import_limits_bad_json_lines_name_file_and_line(runner, db, tmp_path, line, words):
    path = tmp_path / "f.jsonl"
    path.write_text('{"text": "A fine report."}\n' + line + "\n", encoding="utf-8")
    _refused(runner.invoke(args=["import", str(path), "--project", "p"]), "f.jsonl, line 2", *words)
    assert _counts(db) == (0, 0, 0)


@pytest.mark.parametrize("name", ["a/b", "", "   ", "x" * 121, "tab\tname", "nul\x00name", "-opt", "a\\b", "../up"])
def test_import_limits_project_names_follow_one_rule(runner, db, tmp_path, name):
    path = _jsonl(tmp_path / "f.jsonl", {"text": "Two drones fell."})
    _refused(runner.invoke(args=["import", path, "--project", name]), "project name")
    assert _counts(db) == (0, 0, 0)


def test_import_limits_project_name_rule_in_lookups(app, login):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    admin = login("ada", "admin")
    for name in ("nul%00name", "x" * 200, "%ED%A0%80"):
        assert admin.get(f"/projects/{name}/label").status_code == 404
        assert admin.get(f"/api/projects/{name}/next").status_code == 404
        assert admin.get(f"/admin/projects/{name}").status_code == 404


@pytest.mark.parametrize("role", ["admin", "reviewer"])
def test_import_limits_annotator_id_naming_an_admin_or_reviewer_is_refused(runner, db, tmp_path, make_user, role):
    make_user("boss", role)
    path = _jsonl(
        tmp_path / "f.jsonl",
        {"text": "Forty drones fell.", "spans": [{"start": 0, "end": 5, "label": "COUNT"}], "_annotator_id": "alice"},
        {"text": "Two drones fell.", "spans": [{"start": 0, "end": 3, "label": "COUNT"}], "_annotator_id": "boss"},
    )
    _refused(
        runner.invoke(args=["import", path, "--project", "p"]), "f.jsonl, line 2", "'boss'", f"existing {role} account"
    )
    assert _counts(db) == (0, 0, 0)
    _refused(runner.invoke(args=["import", path, "--project", "p", "--as-annotator", "boss"]), "existing")


def test_import_limits_too_many_spans_in_one_sentence(runner, db, tmp_path):
    spans = [{"start": 0, "end": 5, "label": "COUNT"}] * 201
    path = _jsonl(tmp_path / "f.jsonl", {"text": "Forty drones fell.", "spans": spans, "_annotator_id": "alice"})
    _refused(runner.invoke(args=["import", path, "--project", "p"]), "f.jsonl, line 1", "MAX_SPANS_PER_ANNOTATION")
    assert _counts(db) == (0, 0, 0)


@pytest.fixture
def admin(app, runner, login, tmp_path):
    path = _jsonl(tmp_path / "seed.jsonl", {"text": "The project's first report."})
    assert runner.invoke(args=["import", path, "--project", "p"]).exit_code == 0
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return login("ada", "admin")


def _upload(admin, name: str, data: bytes):
    return admin.post(
        "/admin/projects/p/upload", data={"files": (io.BytesIO(data), name)}, content_type="multipart/form-data"
    )


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("long.txt", b"Forty drones fell. " * 60, ["long.txt, line 1", "MAX_REPORT_CHARS"]),
        (
            "deep.jsonl",
            b'{"text": "x", "meta": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n",
            ["deep.jsonl, line 1", "MAX_JSON_DEPTH"],
        ),
        (
            "id.jsonl",
            json.dumps({"id": "i" * 256, "text": "Two."}).encode() + b"\n",
            ["id.jsonl, line 1", "MAX_EXTERNAL_ID_CHARS"],
        ),
        ("s.csv", ("text,source\nTwo drones.," + "s" * 1025 + "\n").encode(), ["s.csv, line 2", "MAX_SOURCE_CHARS"]),
        ("sur.jsonl", b'{"text": "a \\ud800 b"}\n', ["sur.jsonl, line 1", "surrogate"]),
    ],
    ids=["long-report", "deep", "id", "csv-source", "surrogate"],
)
def test_import_limits_web_upload_is_400_with_the_line(app, db, admin, name, data, words):
    app.config["MAX_REPORT_CHARS"] = 1000
    before = _counts(db)
    response = _upload(admin, name, data)
    page = response.get_data(as_text=True)
    assert response.status_code == 400, page[:500]
    for word in words:
        assert word in page, word
    assert _counts(db) == before


def test_import_limits_web_upload_over_the_tokenizer_limit_is_400(app, db, admin):
    app.config["MAX_REPORT_CHARS"] = 5_000_000
    before = _counts(db)
    response = _upload(admin, "huge.txt", ("Forty drones fell over Kursk. " * 40_000)[:1_000_001].encode())
    assert response.status_code == 400 and "at most 1,000,000" in response.get_data(as_text=True)
    assert _counts(db) == before
