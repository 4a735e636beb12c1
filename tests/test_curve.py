"""The learning curve: nested subsets of the training Docs, the verdict on made-up curves,
``annotator train --curve`` and the curve on the models page.

Only the tests marked slow train (a few tiny runs); the verdict and the page read stored records.
"""

from __future__ import annotations

import json

import pytest
import spacy
from spacy.tokens import DocBin
from sqlalchemy import select

from annotator.export.build import build_export, write_export
from annotator.export.curve import (
    FRACTIONS,
    CurveError,
    curve_verdict,
    learning_curve,
    nested_subsets,
    write_subsets,
)
from annotator.models import Project
from annotator.services import model_versions as versions
from tests.helpers import import_trainable, training_reports
from tests.test_training import corpus


def point(fraction, f, **labels):
    return {
        "fraction": fraction,
        "sentences": int(100 * fraction),
        "overall": {"p": f, "r": f, "f": f},
        "per_label": {label: {"p": v, "r": v, "f": v} for label, v in labels.items()},
    }


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    sentences, annotations = corpus(n_reports=12, per_report=5)
    result = build_export(spacy.blank("en"), sentences, annotations, [], project="t", task="ner", dev_fraction=0.25)
    return write_export(result, tmp_path_factory.mktemp("curve") / "export")


def test_curve_subsets_are_nested_and_sized_by_fraction():
    subsets = nested_subsets(10, FRACTIONS, seed=3)
    assert [len(s) for s in subsets] == [3, 5, 8, 10]
    for smaller, larger in zip(subsets, subsets[1:], strict=False):
        assert set(smaller) < set(larger)
    assert subsets == nested_subsets(10, FRACTIONS, seed=3)  # same seed, same subsets
    assert subsets[0] != nested_subsets(10, FRACTIONS, seed=4)[0]


@pytest.mark.parametrize(
    "n_docs, fractions", [(7, FRACTIONS), (0, FRACTIONS), (10, (0.0, 1.0)), (10, (0.5, 1.5)), (10, (0.5, 0.5, 1.0))]
)
def test_curve_subsets_refuse_too_few_docs_or_bad_fractions(n_docs, fractions):
    with pytest.raises(CurveError):
        nested_subsets(n_docs, fractions)


def test_curve_write_subsets_keeps_the_export_dev_and_nests_train(export_dir, tmp_path):
    nlp = spacy.blank("en")
    train_texts = [d.text for d in DocBin().from_disk(export_dir / "train.spacy").get_docs(nlp.vocab)]
    dev_before = (export_dir / "dev.spacy").read_bytes()
    written = write_subsets(export_dir, tmp_path, seed=0)
    assert [(f, n) for f, _, n in written] == [(f, -(-len(train_texts) * f // 1)) for f in FRACTIONS]
    texts = [[d.text for d in DocBin().from_disk(path).get_docs(nlp.vocab)] for _, path, _ in written]
    for smaller, larger in zip(texts, texts[1:], strict=False):
        assert set(smaller) <= set(larger) and len(smaller) < len(larger)
    assert sorted(texts[-1]) == sorted(train_texts)
    assert (export_dir / "dev.spacy").read_bytes() == dev_before
    assert not list(tmp_path.rglob("dev.spacy"))  # every fraction trains against the export's own dev


def test_curve_verdict_rising_names_the_label_that_gains_most():
    verdict = curve_verdict(
        [
            point(0.25, 0.40, COUNT=0.5, REGION=0.3),
            point(0.5, 0.55, COUNT=0.6, REGION=0.45),
            point(0.75, 0.62, COUNT=0.7, REGION=0.5),
            point(1.0, 0.70, COUNT=0.71, REGION=0.62),
        ]
    )
    assert verdict.trend == "rising"
    assert verdict.text.startswith("Still rising: more labelling should help (+8.0 F from 75 % to 100 %)")
    assert "REGION gains most (+12.0 F)" in verdict.text
    assert verdict.label_gains["COUNT"] == pytest.approx(0.01)


def test_curve_verdict_rising_but_slowing_says_so():
    verdict = curve_verdict([point(0.25, 0.2), point(0.5, 0.5), point(0.75, 0.6), point(1.0, 0.65)])
    assert verdict.trend == "rising" and "less than at first (+30.0 F in the first step)" in verdict.text


def test_curve_verdict_flat_and_falling():
    flat = curve_verdict(
        [point(0.25, 0.5, A=0.5), point(0.5, 0.7, A=0.7), point(0.75, 0.80, A=0.8), point(1.0, 0.805, A=0.8)]
    )
    assert flat.trend == "flat" and flat.text.startswith("Flat: more labelling of the same kind is unlikely")
    assert "gains most" not in flat.text
    falling = curve_verdict([point(0.25, 0.5), point(0.5, 0.6), point(0.75, 0.7), point(1.0, 0.6)])
    assert falling.trend == "falling" and "(-10.0 F from 75 % to 100 %)" in falling.text


def test_curve_verdict_ending_below_an_earlier_point_or_at_zero_is_not_flat():
    # 7.1 -> 13.8 -> 13.8 -> 13.8 ends flat, but 25 % of the data did better: fallen, not flat.
    fallen = curve_verdict([point(0.25, 0.30), point(0.5, 0.138), point(0.75, 0.138), point(1.0, 0.138)])
    assert fallen.trend == "falling"
    assert fallen.text.startswith("Below its best (-16.2 F against 25 % of the training set)")
    # A run that learnt nothing (too few steps) tells nothing about more labelling.
    learnt_nothing = curve_verdict([point(0.25, 0.071), point(0.5, 0.138), point(0.75, 0.0), point(1.0, 0.0)])
    assert learnt_nothing.trend == "unknown" and "scored F 0 on dev" in learnt_nothing.text
    assert "train with more steps first" in learnt_nothing.text
    # A strong rise at the end is rising, however good the smallest share happened to score.
    assert curve_verdict([point(0.25, 0.6), point(0.5, 0.1), point(0.75, 0.2), point(1.0, 0.5)]).trend == "rising"


def test_curve_verdict_unknown_without_two_scored_points():
    assert curve_verdict([]).trend == "unknown"
    assert curve_verdict([point(1.0, 0.5)]).trend == "unknown"
    unscored = point(0.75, 0.5)
    unscored["overall"]["f"] = None
    assert curve_verdict([point(0.25, 0.2), unscored, point(1.0, 0.6)]).trend == "unknown"
    # A label missing from one point's dev scores has no gain, and is not named.
    verdict = curve_verdict([point(0.5, 0.5, A=0.4), point(1.0, 0.6, B=0.9)])
    assert verdict.label_gains == {"A": None, "B": None} and "gains most" not in verdict.text


@pytest.mark.slow
def test_curve_learning_curve_trains_each_fraction_and_reuses_full_scores(export_dir, tmp_path):
    full = {"overall": {"p": 0.9, "r": 0.9, "f": 0.9}, "per_label": {"COUNT": {"p": 1.0, "r": 1.0, "f": 1.0}}}
    seen = []
    points = learning_curve(
        export_dir, tmp_path, max_steps=10, eval_frequency=5, full_scores=full, on_point=lambda p: seen.append(len(p))
    )
    assert seen == [1, 2, 3, 4]
    assert [p["fraction"] for p in points] == list(FRACTIONS)
    sizes = [p["sentences"] for p in points]
    assert sizes == sorted(sizes) and len(set(sizes)) == 4
    assert points[-1]["overall"] == full["overall"]
    assert all(p["overall"].get("f") is not None for p in points[:-1])
    assert not list(tmp_path.rglob("model-best"))  # the subset pipelines are removed once scored


@pytest.fixture
def trainable(runner, tmp_path, db):
    import_trainable(runner.invoke, tmp_path)
    return db.scalar(select(Project).where(Project.name == "p"))


@pytest.mark.slow
def test_curve_cli_train_curve_prints_the_table_and_verdict_and_keeps_the_curve(runner, db, trainable):
    result = runner.invoke(args=["train", "--project", "p", "--max-steps", "12", "--curve"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    table = lines.index("Learning curve (F on dev, %):")
    assert lines[table + 1].split() == ["share", "sentences", "overall", "COUNT", "OUTCOME", "REGION"]
    shares = [line.split()[:3] for line in lines[table + 2 : table + 6]]
    assert [s[:2] for s in shares] == [["25", "%"], ["50", "%"], ["75", "%"], ["100", "%"]]
    sizes = [int(s[2]) for s in shares]
    assert sizes == sorted(sizes) and len(set(sizes)) == 4
    assert lines[table + 6].split(":")[0] in ("Still rising", "Flat") or lines[table + 6].startswith("Falling")
    db.rollback()  # a fresh read: the command committed in its own session
    (version,) = versions.list_versions(db, trainable)
    assert version.settings["curve"] is True and [p["sentences"] for p in version.curve["points"]] == sizes
    assert version.curve["points"][-1]["overall"] == version.scores["overall"]  # the full run is the last point
    as_json = runner.invoke(args=["train", "--project", "p", "--max-steps", "5", "--json"])
    assert as_json.exit_code == 0, as_json.output
    report = json.loads(as_json.stdout)
    assert report["version"] == 2 and report["curve"] is None and report["model"].endswith("model-best")


def test_curve_page_shows_the_chart_and_verdict_of_a_stored_curve(login, db, trainable, tmp_path):
    version = versions.start_run(db, trainable, None, tmp_path, task="ner", policy="majority", curve=True)
    version.status, version.scores = "done", {"overall": {"p": 0.7, "r": 0.7, "f": 0.7}, "per_label": {}}
    version.curve = {
        "fractions": list(FRACTIONS),
        "points": [
            point(0.25, 0.40, COUNT=0.5, **{"<b>X</b>": 0.3}),
            point(0.5, 0.55, COUNT=0.6, **{"<b>X</b>": 0.45}),
            point(0.75, 0.62, COUNT=0.7, **{"<b>X</b>": 0.5}),
            point(1.0, 0.70, COUNT=0.71, **{"<b>X</b>": 0.62}),
        ],
    }
    db.commit()
    page = login("rita", "reviewer").get("/projects/p/models")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="curve-1"' in html and '<svg class="chart lines"' in html and "<polyline" in html
    assert "Still rising: more labelling should help (+8.0 F from 75 % to 100 %)" in html
    assert "&lt;b&gt;X&lt;/b&gt; gains most" in html and "<b>X</b>" not in html  # every label escaped
    assert str(versions.pipeline_path(version)) in html  # the folder spacy.load reads
    assert 'name="curve"' in html


def test_curve_page_shows_a_curve_in_progress_or_its_error(login, db, trainable, tmp_path):
    version = versions.start_run(db, trainable, None, tmp_path, task="ner", policy="majority", curve=True)
    version.status = "running"
    version.curve = {"fractions": list(FRACTIONS), "points": [point(0.25, 0.4)]}
    db.commit()
    reviewer = login("rita", "reviewer")
    html = reviewer.get("/projects/p/models").get_data(as_text=True)
    assert "1 of 4 shares trained." in html and 'id="run-curve"' in html and "<svg" not in html
    assert reviewer.get("/projects/p/models/status.json").get_json()["running"]["curve"]["points"][0]["sentences"] == 25
    version.status = "done"
    version.curve = {
        "fractions": list(FRACTIONS),
        "points": [],
        "error": "The learning curve was not trained: <too few>",
    }
    db.commit()
    html = reviewer.get("/projects/p/models").get_data(as_text=True)
    assert "The learning curve was not trained: &lt;too few&gt;" in html


def test_curve_bad_input_is_refused(login, runner, trainable):
    reviewer = login("rita", "reviewer")
    data = {"task": "ner", "policy": "majority", "dev_fraction": "0.25", "seed": "0", "curve": "y"}
    for bad in ({"max_steps": "0"}, {"dev_fraction": "1.5"}, {"task": "bert"}):
        assert reviewer.post("/projects/p/models", data={**data, **bad}).status_code == 400, bad
    assert login("ann").post("/projects/p/models", data={**data, "max_steps": "5"}).status_code == 403
    assert reviewer.get("/projects/nope/models").status_code == 404
    result = runner.invoke(args=["train", "--project", "p", "--curve", "--max-steps", "0"])
    assert result.exit_code == 2 and "--max-steps" in result.output


@pytest.mark.slow
def test_curve_too_small_an_export_keeps_the_model_and_says_why_there_is_no_curve(runner, db, tmp_path):
    path = tmp_path / "few.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for name in ("alice", "bob"):
            for i, (text, spans) in enumerate(training_reports(6)):
                spans_json = [{"start": a, "end": b, "label": label} for a, b, label in spans]
                fh.write(json.dumps({"id": f"r{i}", "text": text, "_annotator_id": name, "spans": spans_json}) + "\n")
    assert runner.invoke(args=["import", str(path), "--project", "p"]).exit_code == 0
    result = runner.invoke(args=["train", "--project", "p", "--max-steps", "5", "--curve"])
    assert result.exit_code == 0, result.output
    assert "The learning curve was not trained: The export has" in result.output
    assert "training sentences: too few for a curve of 4 points; label at least 8" in result.output
    project = db.scalar(select(Project).where(Project.name == "p"))
    (version,) = versions.list_versions(db, project)
    assert version.status == "done" and version.active and version.curve["error"] and version.curve["points"] == []


@pytest.mark.slow
def test_curve_a_run_started_on_the_page_trains_the_curve_in_its_job_and_the_page_draws_it(login, db, trainable):
    from tests.test_model_versions import wait_for

    reviewer = login("rita", "reviewer")
    data = {"task": "ner", "policy": "majority", "dev_fraction": "0.25", "seed": "0", "max_steps": "12", "curve": "y"}
    assert reviewer.post("/projects/p/models", data=data).status_code == 302
    version = wait_for(db, trainable, 1, ("done", "failed"))
    assert version.status == "done", version.error
    assert version.settings["curve"] is True and "error" not in version.curve
    assert [p["fraction"] for p in version.curve["points"]] == list(FRACTIONS)
    html = reviewer.get("/projects/p/models").get_data(as_text=True)
    assert '<svg class="chart lines"' in html and 'id="curve-1-verdict"' in html


def _curve_section(html: str, number: int) -> str:
    start = html.index(f'<section class="card learning-curve" id="curve-{number}">')
    return html[start : html.index("</section>", start)]


def test_curve_dashboard_shows_the_active_versions_curve_as_the_models_page_does(app, login, db, trainable, tmp_path):
    app.config["REVIEW_RESAMPLES"] = 20
    reviewer = login("rita", "reviewer")
    html = reviewer.get("/projects/p/review").get_data(as_text=True)
    assert "learning-curve" not in html  # no version yet: nothing, and no error
    points = [point(0.25, 0.40, COUNT=0.5), point(0.5, 0.55, COUNT=0.6), point(0.75, 0.70, COUNT=0.62)]
    points.append(point(1.0, 0.705, COUNT=0.64))
    first = versions.start_run(db, trainable, None, tmp_path, task="ner", policy="majority", curve=True)
    first.status, first.curve = "done", {"fractions": list(FRACTIONS), "points": points}
    db.commit()
    second = versions.start_run(db, trainable, None, tmp_path, task="ner", policy="majority")
    second.status = "done"
    db.commit()

    # No version is active: the newest version with a curve, with the chart and verdict of the Models page.
    page = reviewer.get("/projects/p/review")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    shown = _curve_section(html, 1)
    assert shown.startswith(_curve_section(reviewer.get("/projects/p/models").get_data(as_text=True), 1).rstrip())
    assert '<svg class="chart lines"' in shown and "Learning curve · version 1" in shown
    assert f'id="curve-1-verdict">{curve_verdict(points).text}</p>' in shown
    assert curve_verdict(points).text.startswith("Flat: more labelling of the same kind is unlikely to help")
    assert 'href="/projects/p/models"' in shown

    # The active version's curve, or nothing when the active version has none.
    second.active = True
    db.commit()
    assert "learning-curve" not in reviewer.get("/projects/p/review").get_data(as_text=True)
    second.active = False
    db.flush()
    first.active = True
    db.commit()
    assert 'id="curve-1-verdict"' in reviewer.get("/projects/p/review").get_data(as_text=True)
    assert versions.curve_version(db, trainable) is first

    # A curve that could not be trained says why, escaped.
    first.curve = {"fractions": list(FRACTIONS), "points": [], "error": "The learning curve was not trained: <few>"}
    db.commit()
    html = reviewer.get("/projects/p/review").get_data(as_text=True)
    assert "The learning curve was not trained: &lt;few&gt;" in html and '<svg class="chart lines"' not in html
