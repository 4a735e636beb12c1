"""Report numbers are per project: "Report 1" is the project's first report, not the first row."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from annotator.models import Report
from annotator.records import ReportRecord
from annotator.services.corpus import import_reports
from annotator.services.projects import get_or_create_project
from tests.helpers import make_project, sentences_of


def numbers(db, project) -> list[tuple[str, int]]:
    return [
        (text.split(".")[0], number)
        for text, number in db.execute(
            select(Report.text, Report.number).where(Report.project_id == project.id).order_by(Report.id)
        )
    ]


def test_report_numbers_count_within_each_project_in_import_order(db):
    alpha, _ = get_or_create_project(db, "alpha")
    beta, _ = get_or_create_project(db, "beta")
    import_reports(db, alpha, "a1.txt", [ReportRecord(text=t) for t in ("A one.", "A two.")])
    import_reports(db, beta, "b.txt", [ReportRecord(text="B one.")])
    # A text already there is no new report and takes no number; batches go on from the last one.
    import_reports(db, alpha, "a2.txt", [ReportRecord(text=t) for t in ("A two.", "A three.", "A four.")], batch_size=1)
    db.commit()
    assert numbers(db, alpha) == [("A one", 1), ("A two", 2), ("A three", 3), ("A four", 4)]
    assert numbers(db, beta) == [("B one", 1)]


def test_report_numbers_are_unique_within_a_project(db):
    project = make_project(db)
    db.add(Report(project_id=project.id, number=1, text="Again.", content_hash="a" * 64, meta={}))
    with pytest.raises(IntegrityError):
        db.flush()
    db.rollback()
    report = Report(project_id=project.id, text="Added alone.", content_hash="b" * 64, meta={})
    db.add(report)
    db.flush()
    assert report.number == 3  # after the two reports of the shared corpus


def test_report_numbers_reach_the_labelling_api(login, db):
    make_project(db, name="other")  # its reports come first in the table
    project = make_project(db)
    ann = login("ann")
    sentence = sentences_of(db, project)[0]
    shown = ann.get(f"/api/sentences/{sentence.id}").get_json()["sentence"]
    assert shown["report_number"] == 1 and shown["report_id"] == sentence.report_id != 1


def test_report_numbers_of_one_multi_row_insert_count_on(db):
    """Reports added without a number in one statement (a Core executemany, an ORM flush) do not collide."""
    from sqlalchemy import insert

    from annotator.models import utcnow

    project, _ = get_or_create_project(db, "bulk")
    import_reports(db, project, "a.txt", [ReportRecord(text="First one.")])
    rows = [
        {
            "project_id": project.id,
            "meta": {},
            "text": f"Bulk {i}.",
            "content_hash": f"{i:064d}",
            "created_at": utcnow(),
        }
        for i in range(3)
    ]
    db.execute(insert(Report.__table__), rows)
    db.add_all(
        [Report(project_id=project.id, meta={}, text=f"Orm {i}.", content_hash=f"{i + 10:064d}") for i in range(2)]
    )
    db.flush()
    assert [n for _, n in numbers(db, project)] == [1, 2, 3, 4, 5, 6]
