"""Done, flagged, skipped and complete: the same counts on the labelling page, dashboard, `annotator status` and manifest."""

from __future__ import annotations

import json
import re

from tests.helpers import build_project


def _number(page: str, element_id: str) -> int:
    found = re.search(rf'id="{element_id}">(\d+)<', page)
    assert found, element_id
    return int(found.group(1))


def test_counts_agree_in_the_four_places(db, login, runner, tmp_path):
    bob = login("bob", "annotator")  # accounts first: build_project labels as them
    build_project(db)  # bob: s1 done, s2 flagged, s3 done; cy: s1 done, s2 skipped; ann: four done
    reviewer = login("rev", "reviewer")

    status = json.loads(runner.invoke(["status", "--project", "incidents", "--json"]).output)
    assert (status["done"], status["flagged"], status["skipped"], status["complete"]) == (7, 1, 1, 3)
    assert status["annotators"]["bob"] == {"done": 2, "flagged": 1, "skipped": 0}
    assert status["annotators"]["cy"] == {"done": 1, "flagged": 0, "skipped": 1}
    text = runner.invoke(["status", "--project", "incidents"]).output
    assert "done: 7, flagged: 1, skipped: 1, complete: 3" in text and "  bob: done: 2, flagged: 1, skipped: 0" in text

    # The labelling page: a flagged sentence is flagged, not done.
    label = bob.get("/projects/incidents/label").get_data(as_text=True)
    assert (_number(label, "mine-done"), _number(label, "mine-flagged"), _number(label, "mine-skipped")) == (2, 1, 0)
    assert _number(label, "project-complete") == status["complete"]
    api = bob.get("/api/projects/incidents/progress").get_json()
    assert (api["mine_done"], api["mine_flagged"], api["mine_skipped"], api["project_complete"]) == (2, 1, 0, 3)

    dashboard = reviewer.get("/projects/incidents/review").get_data(as_text=True)
    assert (
        _number(dashboard, "stat-done"),
        _number(dashboard, "stat-flagged-annotations"),
        _number(dashboard, "stat-skipped"),
    ) == (7, 1, 1)
    assert _number(dashboard, "stat-complete") == 3
    for name, mine in status["annotators"].items():
        row = dashboard[dashboard.index(f'<tr data-annotator="{name}">') :]
        assert row.startswith(
            f'<tr data-annotator="{name}"><th scope="row">{name}</th><td>{mine["done"]}</td><td>{mine["flagged"]}</td><td>{mine["skipped"]}</td>'
        )

    out = tmp_path / "export"
    result = runner.invoke(["export", "--project", "incidents", "--out", str(out)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == status
