"""Importing reports into a project: the service and the CLI, on each backend."""

import json

import pytest
from sqlalchemy import func, select

from annotator.models import Annotation, Project, Report, Sentence, Suggestion, User
from annotator.services.projects import project_status

TRICKY_REPORT = "Last night  40 UAVs 🚀 were destroyed over Kaluga Oblast.\r\nНад Белгородом сбили два дрона.\r\n\r\nTwo dozen\u00a0drones were shot down."


def _status(runner, project="p"):
    result = runner.invoke(args=["status", "--project", project, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _no_project(runner, project="p") -> bool:
    """Whether ``project`` does not exist: a refused import leaves not even an empty project behind."""
    result = runner.invoke(args=["status", "--project", project, "--json"])
    return result.exit_code == 1 and f"no project named {project!r}" in result.output


def test_import_each_format(runner, tmp_path):
    (tmp_path / "a.txt").write_text("First report. Two sentences.\n\nSecond report.\n", encoding="utf-8")
    (tmp_path / "b.jsonl").write_text(json.dumps({"id": "x1", "text": "A jsonl report."}) + "\n", encoding="utf-8")
    (tmp_path / "c.csv").write_text('text,outlet\n"A csv report, with a comma.",Wire\n', encoding="utf-8")
    result = runner.invoke(
        args=["import", str(tmp_path / "a.txt"), str(tmp_path / "b.jsonl"), str(tmp_path / "c.csv"), "--project", "p"]
    )
    assert result.exit_code == 0, result.output
    assert "4 reports added, 5 sentences added, 0 duplicates skipped" in result.output
    assert _status(runner) == {
        "reports": 4,
        "sentences": 5,
        "done": 0,
        "flagged": 0,
        "skipped": 0,
        "complete": 0,
        "gold": 0,
        "changed_since_gold": 0,
        "annotators": {},
    }


def test_import_offsets_exact_for_tricky_text(runner, tmp_path, db):
    (tmp_path / "t.jsonl").write_bytes(
        b"\xef\xbb\xbf" + json.dumps({"text": TRICKY_REPORT}, ensure_ascii=False).encode() + b"\n"
    )
    assert runner.invoke(args=["import", str(tmp_path / "t.jsonl"), "--project", "p"]).exit_code == 0
    report = db.scalar(select(Report))
    assert report.text == TRICKY_REPORT
    sentences = db.scalars(select(Sentence).order_by(Sentence.position)).all()
    assert [s.text for s in sentences] == [
        "Last night  40 UAVs 🚀 were destroyed over Kaluga Oblast.",
        "Над Белгородом сбили два дрона.",
        "Two dozen\u00a0drones were shot down.",
    ]
    for sentence in sentences:
        assert report.text[sentence.start_char : sentence.start_char + len(sentence.text)] == sentence.text
        assert all(sentence.text[a:b].strip() for a, b in sentence.tokens)
    assert sentences[0].text[slice(*sentences[0].tokens[4])] == "🚀"


def test_import_jsonl_files_joined_with_their_byte_order_marks(runner, tmp_path, db):
    # cat a.jsonl b.jsonl, each saved with a byte-order mark: the second one, at the start of line 2, is no error.
    bom = b"\xef\xbb\xbf"
    path = tmp_path / "joined.jsonl"
    path.write_bytes(bom + b'{"text": "First report."}\n' + bom + b'{"text": "Second report."}\n')
    result = runner.invoke(args=["import", str(path), "--project", "p"])
    assert result.exit_code == 0, result.output
    assert "2 reports added" in result.output
    assert db.scalars(select(Report.text).order_by(Report.id)).all() == ["First report.", "Second report."]


def test_import_reimport_adds_nothing(runner, tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("One report.\n\nAnother report.\n", encoding="utf-8")
    assert runner.invoke(args=["import", str(path), "--project", "p"]).exit_code == 0
    again = runner.invoke(args=["import", str(path), "--project", "p"])
    assert again.exit_code == 0
    assert "0 reports added, 0 sentences added, 2 duplicates skipped" in again.output
    assert _status(runner)["reports"] == 2


def test_import_says_when_an_annotators_annotation_is_kept_as_stored(runner, tmp_path, db):
    from annotator.models import Span

    text = "Thirty drones were destroyed over Kursk."
    first, corrected = tmp_path / "r1.jsonl", tmp_path / "r2.jsonl"
    line = {"text": text, "spans": [{"start": 0, "end": 6, "label": "COUNT"}], "_annotator_id": "chen"}
    first.write_text(json.dumps(line) + "\n", encoding="utf-8")
    line["spans"].append({"start": 19, "end": 28, "label": "OUTCOME"})
    corrected.write_text(json.dumps(line) + "\n", encoding="utf-8")
    assert "1 annotation added" in runner.invoke(args=["import", str(first), "--project", "p"]).output
    again = runner.invoke(args=["import", str(corrected), "--project", "p"])
    assert again.exit_code == 0, again.output
    assert "1 duplicate skipped" in again.output and "annotation added" not in again.output
    assert "1 annotation not imported: the annotator has one of that sentence already, kept as stored" in again.output
    assert db.scalars(select(Span.label)).all() == ["COUNT"]  # the stored annotation, as it was


def test_import_values_spans_as_a_save_does(runner, tmp_path, db):
    from annotator.models import Span

    line = {
        "text": "Thirty drones were destroyed over Kursk.",
        "spans": [
            {"start": 0, "end": 6, "label": "COUNT"},  # no value: the one the text gives
            {"start": 34, "end": 39, "label": "REGION"},  # the gazetteer's name
        ],
        "_annotator_id": "chen",
    }
    (tmp_path / "v.jsonl").write_text(json.dumps(line) + "\n", encoding="utf-8")
    result = runner.invoke(args=["import", str(tmp_path / "v.jsonl"), "--project", "p"])
    assert result.exit_code == 0, result.output
    assert db.execute(select(Span.label, Span.value).order_by(Span.start_char)).all() == [
        ("COUNT", "30"),
        ("REGION", "Kursk Oblast"),
    ]


def test_import_makes_the_annotators_of_a_restricted_project_its_members(runner, tmp_path, db):
    from annotator.models import ProjectMember
    from annotator.services.projects import can_work_on, create_project
    from annotator.services.users import create_user

    create_project(db, "secret", restricted=True)
    create_user(db, "ann", "annotator", None)
    db.commit()
    path = tmp_path / "r.jsonl"
    lines = [
        {"text": f"Report {i}: three drones hit Kursk.", "spans": [], "_annotator_id": name}
        for i, name in enumerate(["ann", "newbie", "ann"])
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    result = runner.invoke(args=["import", str(path), "--project", "secret"])
    assert result.exit_code == 0, result.output
    assert "3 annotations added, 2 annotators made members of the restricted project" in result.output
    db.expire_all()
    project = db.scalar(select(Project).where(Project.name == "secret"))
    members = db.scalars(select(User.username).join(ProjectMember, ProjectMember.user_id == User.id)).all()
    assert sorted(members) == ["ann", "newbie"]
    assert all(can_work_on(db, user, project) for user in db.scalars(select(User)))


@pytest.mark.parametrize(
    "name, raw, expected",
    [
        ("bad.jsonl", b'{"text": "ok"}\n' * 6 + b"{oops\n", "bad.jsonl, line 7: invalid JSON"),
        ("bad.jsonl", b'{"text": "ok"}\n{"body": "x"}\n', 'bad.jsonl, line 2: missing "text"'),
        ("bad.txt", b"good\n\xc3\x28 bad\n", "bad.txt, line 2: not UTF-8"),
        ("bad.txt", b"", "bad.txt: the file is empty"),
        # Not JSON (RFC 8259), and PostgreSQL refuses them in a json column: refused with the line.
        (
            "bad.jsonl",
            b'{"text": "ok"}\n{"text": "x", "meta": {"score": NaN}}\n',
            "bad.jsonl, line 2: invalid JSON: NaN",
        ),
        ("bad.jsonl", b'{"text": "x", "meta": {"score": 1e999}}\n', "bad.jsonl, line 1: invalid JSON: 1e999"),
        (
            "bad.json",
            b'[{"data": {"text": "x", "score": -Infinity}}]',
            "bad.json: the file is not valid JSON: -Infinity",
        ),
    ],
)
def test_import_bad_file_imports_nothing(runner, tmp_path, name, raw, expected):
    good = tmp_path / "good.txt"
    good.write_text("A good report.\n", encoding="utf-8")
    (tmp_path / name).write_bytes(raw)
    result = runner.invoke(args=["import", str(good), str(tmp_path / name), "--project", "p"])
    assert result.exit_code == 1
    assert expected in result.output
    assert "Nothing was imported" in result.output
    assert _no_project(runner)


def test_import_status_of_missing_project_exits_1(runner):
    assert _no_project(runner, "nope")


def test_import_annotations_from_prodigy_and_doccano_merge_into_one_report(runner, tmp_path, db):
    text = "Forty drones were destroyed over Kursk Oblast."
    prodigy = {
        "text": text,
        "spans": [{"start": 0, "end": 5, "label": "COUNT"}, {"start": 33, "end": 45, "label": "REGION"}],
        "_annotator_id": "alice",
    }
    doccano = {"text": text, "label": [[0, 5, "COUNT"]]}
    (tmp_path / "p.jsonl").write_text(json.dumps(prodigy) + "\n", encoding="utf-8")
    (tmp_path / "d.jsonl").write_text(json.dumps(doccano) + "\n", encoding="utf-8")
    assert runner.invoke(args=["import", str(tmp_path / "p.jsonl"), "--project", "p"]).exit_code == 0
    result = runner.invoke(args=["import", str(tmp_path / "d.jsonl"), "--project", "p", "--as-annotator", "bob"])
    assert result.exit_code == 0, result.output
    assert "1 duplicate skipped" in result.output
    assert db.scalar(select(func.count()).select_from(Report)) == 1
    by_user = {
        db.get(User, a.user_id).username: [(s.start_char, s.end_char, s.label) for s in a.spans]
        for a in db.scalars(select(Annotation))
    }
    assert by_user == {"alice": [(0, 5, "COUNT"), (33, 45, "REGION")], "bob": [(0, 5, "COUNT")]}
    assert _status(runner)["done"] == 2
    assert _status(runner)["complete"] == 1


def test_import_spans_without_annotator_need_a_name(runner, tmp_path):
    (tmp_path / "d.jsonl").write_text(
        json.dumps({"text": "Kursk.", "label": [[0, 5, "REGION"]]}) + "\n", encoding="utf-8"
    )
    result = runner.invoke(args=["import", str(tmp_path / "d.jsonl"), "--project", "p"])
    assert result.exit_code == 1
    assert "d.jsonl, line 1: the spans here name no annotator: name one in the file" in result.output
    assert "(annotator import --as-annotator NAME; on the upload form, 'annotations of the annotator named here')" in (
        result.output
    )
    assert _no_project(runner)


def test_import_as_suggestions(runner, tmp_path, db):
    text = "Two drones fell. Kursk Oblast was hit."
    (tmp_path / "d.jsonl").write_text(
        json.dumps({"text": text, "label": [[0, 3, "COUNT"], [17, 29, "REGION"]]}) + "\n", encoding="utf-8"
    )
    result = runner.invoke(args=["import", str(tmp_path / "d.jsonl"), "--project", "p", "--as-suggestions"])
    assert result.exit_code == 0, result.output
    rows = db.execute(
        select(Sentence.text, Suggestion.start_char, Suggestion.end_char, Suggestion.label)
        .join(Suggestion, Suggestion.sentence_id == Sentence.id)
        .order_by(Sentence.position)
    ).all()
    assert [(t[a:b], label) for t, a, b, label in rows] == [("Two", "COUNT"), ("Kursk Oblast", "REGION")]
    assert db.scalar(select(func.count()).select_from(Annotation)) == 0


def test_import_span_across_sentences_is_refused(runner, tmp_path):
    text = "Two drones fell. Kursk Oblast was hit."
    (tmp_path / "d.jsonl").write_text(
        json.dumps({"text": text, "label": [[4, 25, "OUTCOME"]]}) + "\n", encoding="utf-8"
    )
    result = runner.invoke(args=["import", str(tmp_path / "d.jsonl"), "--project", "p", "--as-annotator", "a"])
    assert result.exit_code == 1
    assert "d.jsonl, line 1" in result.output and "does not lie within one sentence" in result.output
    assert _no_project(runner)


def test_import_service_counts(app, db):
    from annotator.records import ReportRecord
    from annotator.services.corpus import import_reports
    from annotator.services.projects import get_or_create_project

    project, created = get_or_create_project(db, "svc")
    assert created
    summary = import_reports(
        db, project, "x", [ReportRecord("One. Two."), ReportRecord("One. Two."), ReportRecord("Three.")], batch_size=1
    )
    db.commit()
    assert (summary.reports, summary.sentences, summary.duplicates) == (2, 3, 1)
    assert project_status(db, "svc")["sentences"] == 3


@pytest.mark.parametrize(
    "span, problem",
    [
        ([1, 5, "COUNT"], "is not the start of a token"),  # "orty"
        ([0, 5, "PERSON"], "is not one of REGION, COUNT, OUTCOME"),
    ],
)
def test_import_spans_obey_labels_and_token_boundaries(runner, tmp_path, span, problem):
    (tmp_path / "d.jsonl").write_text(
        json.dumps({"text": "Forty drones fell.", "label": [span]}) + "\n", encoding="utf-8"
    )
    result = runner.invoke(args=["import", str(tmp_path / "d.jsonl"), "--project", "p", "--as-annotator", "a"])
    assert result.exit_code == 1
    assert "d.jsonl, line 1" in result.output and problem in result.output
    assert _no_project(runner)


def test_import_as_annotator_with_as_suggestions_is_refused(runner, tmp_path, db):
    # The two options say opposite things about the same spans: the import asks which, and reads nothing.
    (tmp_path / "d.jsonl").write_text(
        json.dumps({"text": "Two drones fell.", "label": [[0, 3, "COUNT"]]}) + "\n", encoding="utf-8"
    )
    result = runner.invoke(
        args=["import", str(tmp_path / "d.jsonl"), "--project", "p", "--as-annotator", "bob", "--as-suggestions"]
    )
    assert result.exit_code == 2, result.output
    assert "--as-annotator" in result.output and "--as-suggestions" in result.output
    assert "Traceback" not in result.output
    assert _no_project(runner)
    assert db.scalar(select(func.count()).select_from(User)) == 0
