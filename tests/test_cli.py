"""The command line: what a newcomer types first (status, projects), and its answers."""

import json


def _import(runner, tmp_path, project="p"):
    path = tmp_path / "reports.txt"
    path.write_text(
        "Twelve drones were shot down over the Kursk region. A fire broke out.\n\nDebris fell in Belgorod.\n"
    )
    result = runner.invoke(args=["import", str(path), "--project", project])
    assert result.exit_code == 0, result.output


def test_cli_status_of_an_unknown_project_exits_1(runner, tmp_path):
    _import(runner, tmp_path)
    result = runner.invoke(args=["status", "--project", "nope"])
    assert result.exit_code == 1
    assert "no project named 'nope'" in result.output and "annotator projects" in result.output


def test_cli_status_counts_a_project(runner, tmp_path):
    _import(runner, tmp_path)
    counts = json.loads(runner.invoke(args=["status", "--project", "p", "--json"]).output)
    assert counts == {
        "reports": 2,
        "sentences": 3,
        "done": 0,
        "flagged": 0,
        "skipped": 0,
        "complete": 0,
        "gold": 0,
        "changed_since_gold": 0,
        "annotators": {},
    }


def test_cli_projects_lists_each_project_with_its_counts(runner, tmp_path):
    assert "No projects yet" in runner.invoke(args=["projects"]).output
    assert json.loads(runner.invoke(args=["projects", "--json"]).output) == []
    _import(runner, tmp_path, "beta")
    _import(runner, tmp_path, "alpha")
    rows = json.loads(runner.invoke(args=["projects", "--json"]).output)
    assert [row["name"] for row in rows] == ["alpha", "beta"]
    assert rows[0]["sentences"] == 3 and rows[0]["reports"] == 2 and rows[0]["labels"] == ["REGION", "COUNT", "OUTCOME"]
    text = runner.invoke(args=["projects"])
    assert text.exit_code == 0
    assert (
        text.output.splitlines()[0]
        == "alpha (en, 2 per sentence, open): reports 2, sentences 3, done 0, flagged 0, skipped 0, complete 0, gold 0"
    )
