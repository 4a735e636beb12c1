"""Label Studio's JSON export: parsed (annotator.corpus.label_studio), imported and exported again, on each backend."""

import io
import json

import pytest
from sqlalchemy import select

from annotator.corpus.label_studio import parse_label_studio
from annotator.corpus.parse import CorpusError, parse_file
from annotator.models import Annotation, User
from tests.helpers import make_project

FIRST = "Forty drones were shot down over Kursk. Debris damaged a house."
# An emoji before the spans: Label Studio's offsets (UTF-16 units) run one ahead of code points after it.
SECOND = "🚀 Two missiles were intercepted near Belgorod."


def _result(ident, text, start, end, label, units=None):
    """A ``labels`` result as Label Studio writes it; ``units`` gives offsets in UTF-16 units."""
    a, b = units or (start, end)
    return {
        "value": {"start": a, "end": b, "text": text[start:end], "labels": [label]},
        "id": ident,
        "from_name": "label",
        "to_name": "text",
        "type": "labels",
        "origin": "manual",
    }


def _annotation(ident, task, completed_by, result, cancelled=False):
    return {
        "id": ident,
        "completed_by": completed_by,
        "result": result,
        "was_cancelled": cancelled,
        "ground_truth": False,
        "created_at": "2026-11-20T10:15:02.118433Z",
        "updated_at": "2026-11-20T10:16:40.551082Z",
        "draft_created_at": None,
        "lead_time": 98.431,
        "prediction": {},
        "result_count": 0,
        "unique_id": f"5f0c8a7e-{ident:04d}",
        "import_id": None,
        "last_action": None,
        "task": task,
        "project": 3,
        "updated_by": completed_by if isinstance(completed_by, int) else completed_by["id"],
        "parent_prediction": None,
        "parent_annotation": None,
        "last_created_by": None,
    }


def _task(ident, text, annotations):
    return {
        "id": ident,
        "annotations": annotations,
        "file_upload": "8c1f2e4a-reports.json",
        "drafts": [],
        "predictions": [],
        "data": {"text": text, "outlet": "wire"},
        "meta": {},
        "created_at": "2026-11-20T09:58:11.402716Z",
        "updated_at": "2026-11-20T10:16:40.602118Z",
        "inner_id": ident - 100,
        "total_annotations": len(annotations),
        "cancelled_annotations": 0,
        "total_predictions": 0,
        "comment_count": 0,
        "unresolved_comment_count": 0,
        "last_comment_updated_at": None,
        "project": 3,
        "updated_by": 1,
        "comment_authors": [],
    }


BOB = {"id": 2, "first_name": "Bob", "last_name": "", "email": "bob@example.org"}
r = SECOND.index("Belgorod")
EXPORT = [
    _task(
        101,
        FIRST,
        [
            _annotation(
                11,
                101,
                1,
                [
                    _result("a1", FIRST, 0, 5, "COUNT"),
                    _result("a2", FIRST, 18, 27, "OUTCOME"),
                    _result("a3", FIRST, 33, 38, "REGION"),
                    {  # not a span: passed over
                        "value": {"choices": ["attack"]},
                        "id": "a4",
                        "from_name": "kind",
                        "to_name": "text",
                        "type": "choices",
                        "origin": "manual",
                    },
                    {"from_id": "a1", "to_id": "a3", "type": "relation", "direction": "right", "labels": []},
                ],
            ),
            _annotation(12, 101, BOB, [_result("b1", FIRST, 0, 5, "COUNT"), _result("b2", FIRST, 33, 38, "REGION")]),
        ],
    ),
    _task(
        102,
        SECOND,
        [
            _annotation(13, 102, 1, [_result("c1", SECOND, r, r + 8, "REGION", units=(r + 1, r + 9))]),
            _annotation(14, 102, BOB, [], cancelled=True),
        ],
    ),
    _task(103, "Air defence units remained on alert.", []),
]


def test_import_label_studio_parses_tasks_annotators_and_utf16_offsets():
    reports = parse_label_studio("export.json", json.dumps(EXPORT, indent=2))
    assert [r.external_id for r in reports] == ["101", "102", "103"]
    assert reports[0].meta == {"outlet": "wire"} and reports[0].line == 2
    first = {a.annotator: [(s.start_char, s.end_char, s.label) for s in a.spans] for a in reports[0].annotations}
    assert first == {
        "label-studio-1": [(0, 5, "COUNT"), (18, 27, "OUTCOME"), (33, 38, "REGION")],
        "bob@example.org": [(0, 5, "COUNT"), (33, 38, "REGION")],
    }
    second = reports[1].annotations
    assert [(s.start_char, s.end_char) for s in second[0].spans] == [(r, r + 8)]
    assert SECOND[r : r + 8] == "Belgorod"
    assert second[1].status == "skipped" and reports[2].annotations == ()


def test_import_label_studio_round_trip_keeps_spans_and_annotators(runner, tmp_path):
    path = tmp_path / "project-3-at-2026-11-20-10-17-5f0c8a7e.json"
    path.write_text(json.dumps(EXPORT, indent=2, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(args=["import", str(path), "--project", "p"])
    assert result.exit_code == 0, result.output
    assert "3 reports added" in result.output and "6 annotations added" in result.output  # per sentence
    out = tmp_path / "out"
    result = runner.invoke(args=["export", "--project", "p", "--out", str(out), "--dev-fraction", "0"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (out / "annotations.jsonl").read_text(encoding="utf-8").splitlines()]
    seen = {}
    for record in records:
        for name, version in record["_annotators"].items():
            for span in version["spans"]:
                seen.setdefault(name, set()).add((record["text"][span["start"] : span["end"]], span["label"]))
            if version["status"] == "skipped":
                seen.setdefault(name, set()).add(("(skipped)", record["text"]))
    assert seen == {
        "label-studio-1": {("Forty", "COUNT"), ("shot down", "OUTCOME"), ("Kursk", "REGION"), ("Belgorod", "REGION")},
        "bob@example.org": {("Forty", "COUNT"), ("Kursk", "REGION"), ("(skipped)", SECOND)},
    }


def _bad(tasks) -> str:
    return json.dumps(tasks, indent=1)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('[{"data": {"text": "x"}}, {oops', "export.json, line 1: invalid JSON"),
        ('{"tasks": []}', "export.json: the file is not a Label Studio export, which is a JSON list of tasks"),
        ('[{"data": {"text": "a\\u0000b"}}]', "export.json, line 1: task 1: "),
        (_bad([{"id": 7, "data": {"body": "x"}}]), 'task 1 (id 7): missing "data.text"'),
        (_bad([{"data": {"text": "ok"}}, "text"]), "task 2: each task must be a JSON object"),
        (
            _bad([{"id": 5, "data": {"text": "ok"}, "annotations": [{"completed_by": "bob", "result": []}]}]),
            'task 1 (id 5), annotation 1: "completed_by" must be a user id',
        ),
        (
            _bad(
                [
                    {
                        "data": {"text": "Kursk"},
                        "annotations": [
                            {"completed_by": 1, "result": [{"type": "labels", "value": {"start": "0", "end": 5}}]}
                        ],
                    }
                ]
            ),
            'annotation 1, result 1: "start" and "end" must be integers',
        ),
        (
            _bad(
                [
                    {
                        "data": {"text": "Kursk"},
                        "annotations": [
                            {
                                "completed_by": 1,
                                "result": [
                                    {
                                        "type": "labels",
                                        "value": {"start": 0, "end": 9, "text": "Kursk", "labels": ["R"]},
                                    }
                                ],
                            }
                        ],
                    }
                ]
            ),
            "span [0, 9) is outside the text (length 5)",
        ),
        (
            _bad(
                [
                    {
                        "data": {"text": "Kursk and Sumy"},
                        "annotations": [
                            {
                                "completed_by": 1,
                                "result": [
                                    {"type": "labels", "value": {"start": 0, "end": 5, "text": "Sumy", "labels": ["R"]}}
                                ],
                            }
                        ],
                    }
                ]
            ),
            "covers 'Kursk' in the text, but its \"text\" is 'Sumy'",
        ),
        (
            _bad(
                [
                    {
                        "data": {"text": "Kursk"},
                        "annotations": [
                            {"completed_by": 1, "result": [{"type": "labels", "value": {"start": 0, "end": 5}}]}
                        ],
                    }
                ]
            ),
            '"labels" must be a list of label names',
        ),
    ],
)
def test_import_label_studio_hostile_input_is_a_clear_error(raw, expected):
    with pytest.raises(CorpusError) as caught:
        parse_file("export.json", raw.encode("utf-8"))
    assert expected in str(caught.value)


def test_import_label_studio_a_huge_bad_value_is_quoted_short():
    """A 200,000-character "start" is named in the message, not repeated whole on the upload page."""
    huge = "9" * 200_000
    task = {"data": {"text": "Kursk"}, "annotations": [{"completed_by": 1, "result": [_labels(huge, ["R" * 200_000])]}]}
    with pytest.raises(CorpusError) as caught:
        parse_file("export.json", _bad([task]).encode("utf-8"))
    message = str(caught.value)
    assert '"start" and "end" must be integers, not \'999' in message and "\u2026" in message
    assert len(message) < 300


def _labels(start, labels):
    return {"type": "labels", "value": {"start": start, "end": 5, "labels": labels}}


def test_import_label_studio_bad_task_imports_nothing(runner, tmp_path):
    tasks = [_task(101, FIRST, [_annotation(11, 101, 1, [_result("a1", FIRST, 0, 5, "WEAPON")])])]
    good = tmp_path / "good.txt"
    good.write_text("A good report.\n", encoding="utf-8")
    path = tmp_path / "export.json"
    path.write_text(json.dumps([_task(100, SECOND, [])] + tasks, indent=2), encoding="utf-8")
    result = runner.invoke(args=["import", str(good), str(path), "--project", "p"])
    assert result.exit_code == 1
    assert "export.json" in result.output and "WEAPON" in result.output
    assert "Nothing was imported" in result.output
    status = runner.invoke(args=["status", "--project", "p", "--json"])
    assert status.exit_code == 1  # not even the project was created


@pytest.mark.parametrize(
    ("cancelled", "shown"),
    [("yes", '"yes"'), ("false", '"false"'), (1, "1"), (0, "0"), (None, "null"), ({"by": "bob"}, '{"by": "bob"}')],
)
def test_import_label_studio_was_cancelled_other_than_true_or_false_imports_nothing(runner, tmp_path, cancelled, shown):
    # Not a guess either way: "yes" or 1 read as not cancelled would import a skip as done work.
    tasks = [_task(101, FIRST, []), _task(102, SECOND, [_annotation(13, 102, 1, []), _annotation(14, 102, BOB, [])])]
    tasks[1]["annotations"][1]["was_cancelled"] = cancelled
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks, indent=2), encoding="utf-8")
    line = [n for n, text in enumerate(path.read_text().splitlines(), start=1) if text == "  {"][1]  # task 2's
    result = runner.invoke(args=["import", str(path), "--project", "p"])
    assert result.exit_code == 1, result.output
    assert (
        f'export.json, line {line}: task 2 (id 102), annotation 2: "was_cancelled" must be true (a skip) or false, '
        f"not {shown}. Nothing was imported."
    ) in result.output
    assert runner.invoke(args=["status", "--project", "p"]).exit_code == 1  # not even the project was created


def test_import_label_studio_without_was_cancelled_is_done_work():
    annotation = _annotation(13, 102, 1, [_result("c1", FIRST, 0, 5, "COUNT")])
    del annotation["was_cancelled"]
    (report,) = parse_label_studio("export.json", json.dumps([_task(102, FIRST, [annotation])]))
    assert [a.status for a in report.annotations] == ["done"]


def test_import_label_studio_upload_through_the_admin_form(login, db):
    admin = login("ada", "admin")
    make_project(db, "p", reports=())
    page = admin.get("/admin/projects/p").get_data(as_text=True)
    assert 'accept=".txt,.jsonl,.csv,.json,.conll,.iob"' in page
    response = admin.post(
        "/admin/projects/p/upload",
        data={"files": (io.BytesIO(json.dumps(EXPORT).encode()), "export.json")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    names = set(db.scalars(select(User.username).join(Annotation, Annotation.user_id == User.id)))
    assert names == {"label-studio-1", "bob@example.org"}
