"""Incident agreement in `annotator agreement` and on the review dashboard (both databases)."""

from __future__ import annotations

import json

TWO = "Air defences destroyed 17 UAVs over Kaluga Oblast and 4 over Bryansk Oblast."
DESTROYED, C17, KALUGA = (13, 22, "OUTCOME"), (23, 25, "COUNT"), (36, 49, "REGION")
C4, BRYANSK = (54, 55, "COUNT"), (61, 75, "REGION")


def span(key):
    return {"start": key[0], "end": key[1], "label": key[2]}


def record(annotator, links):
    relations = [{"head_span": span(h), "child_span": span(c), "label": label} for h, c, label in links]
    spans = [span(k) for k in (DESTROYED, C17, KALUGA, C4, BRYANSK)]
    return json.dumps({"text": TWO, "spans": spans, "relations": relations, "_annotator_id": annotator})


def import_two_annotators(runner, tmp_path):
    first = [(C17, DESTROYED, "outcome"), (C17, KALUGA, "location")]
    rows = {
        "ana": first + [(C4, DESTROYED, "outcome"), (C4, BRYANSK, "location")],
        "bob": first + [(C4, BRYANSK, "location")],  # the second incident without its outcome
    }
    for name, links in rows.items():
        path = tmp_path / f"{name}.jsonl"
        path.write_text(record(name, links) + "\n", encoding="utf-8")
        result = runner.invoke(args=["import", str(path), "--project", "p"])
        assert result.exit_code == 0, result.output


def test_incident_review_agreement_command_reports_incident_f1(runner, tmp_path):
    import_two_annotators(runner, tmp_path)
    result = runner.invoke(args=["agreement", "--project", "p", "--json", "--resamples", "20"])
    assert result.exit_code == 0, result.output
    incidents = json.loads(result.output)["incident_f1"]
    # 1 of 2 + 2 incidents match, strictly and partially (an incident without its outcome is another group).
    assert incidents["overall"] == 0.5 and incidents["partial"]["overall"] == 0.5
    assert incidents["support"] == {"sentences": 1, "pairs": 1, "incidents": 4}
    table = runner.invoke(args=["agreement", "--project", "p", "--resamples", "20"])
    assert (
        "Incidents: F1 strict 0.500, partial 0.500 (4 incidents in 1 shared sentences, 1 pairs); pairs: ana|bob 0.500"
        in table.output
    )


def test_incident_review_dashboard_has_an_incidents_row(runner, tmp_path, login):
    import_two_annotators(runner, tmp_path)
    page = login("rev", "reviewer").get("/projects/p/review").get_data(as_text=True)
    row = page.split('id="incident-agreement"')[1].split("</tr>")[0]
    assert "Incidents" in row and row.count("0.500") == 2 and "1 / 4 incidents" in row


def test_incident_review_dashboard_and_command_say_why_incident_f1_is_undefined(runner, tmp_path, login):
    """No shared sentence, then shared sentences without incidents: "n/a" with the reason, as on annotator rows."""
    spans = [span(k) for k in (DESTROYED, C17, KALUGA)]
    path = tmp_path / "ana.jsonl"
    path.write_text(json.dumps({"text": TWO, "spans": spans, "_annotator_id": "ana"}) + "\n", encoding="utf-8")
    assert runner.invoke(args=["import", str(path), "--project", "p"]).exit_code == 0
    client = login("rev", "reviewer")

    def row() -> str:
        page = client.get("/projects/p/review").get_data(as_text=True)
        return page.split('id="incident-agreement"')[1].split("</tr>")[0]

    assert "n/a: no sentence has two annotators yet" in row()
    path = tmp_path / "bob.jsonl"
    path.write_text(json.dumps({"text": TWO, "spans": spans, "_annotator_id": "bob"}) + "\n", encoding="utf-8")
    assert runner.invoke(args=["import", str(path), "--project", "p"]).exit_code == 0
    assert "n/a: no incidents yet on the sentences two annotators share" in row()
    incidents = json.loads(runner.invoke(args=["agreement", "--project", "p", "--json", "--resamples", "20"]).output)[
        "incident_f1"
    ]
    assert (
        incidents["overall"] is None and incidents["reason"] == "no incidents yet on the sentences two annotators share"
    )
    table = runner.invoke(args=["agreement", "--project", "p", "--resamples", "20"]).output
    assert "Incidents: n/a: no incidents yet on the sentences two annotators share (0 incidents in 1 shared" in table
