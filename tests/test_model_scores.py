"""The active model version as one more row of the annotator-vs-gold table (dashboard, JSON, CLI).

The "model" is a blank English pipeline with an entity ruler, saved as version 1's model-best,
so its predictions are known exactly and the scores below are computed by hand. Version 1's
export is a real one (``export_project``) made while only report A had gold, with no dev
split: report A is its whole training split, and every adjudicated sentence of report A is
left out of its scores, also one adjudicated after the run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotator.limits import MAX_ROW_ID
from annotator.metrics import model_vs_gold
from annotator.models import Annotation, GoldAnnotation, GoldSpan, ModelVersion, Span
from annotator.records import GoldRecord, GoldSpanRecord
from annotator.services import model_scores
from annotator.services.exports import export_project
from annotator.services.projects import get_or_create_project
from annotator.services.users import get_or_create_annotator
from tests.helpers import add_report, build_project

A1, A2 = "Two drones hit Kyiv .", "One drone fell ."  # report A: trained on (A2 adjudicated after the run)
B1, B2, B3 = "Three drones hit Lviv .", "Kyiv was quiet .", "Five missiles fell ."  # report B: held out
PATTERNS = [
    {"label": "REGION", "pattern": "Kyiv"},
    {"label": "COUNT", "pattern": "Three"},
    {"label": "REGION", "pattern": "fell"},  # a false positive on B3 (and on A2, which is left out)
]


def span(text: str, word: str, label: str) -> tuple[int, int, str]:
    start = text.index(word)
    return start, start + len(word), label


GOLD = {
    A1: [span(A1, "Two", "COUNT"), span(A1, "Kyiv", "REGION")],
    A2: [span(A2, "One", "COUNT")],
    B1: [span(B1, "Three", "COUNT"), span(B1, "Lviv", "REGION")],
    B2: [span(B2, "Kyiv", "REGION")],
    B3: [span(B3, "Five", "COUNT")],
}
# On B1-B3 the ruler finds COUNT Three (right), REGION Kyiv (right) and REGION "fell" (wrong):
# 2 correct of 3 predicted and 4 in the gold. COUNT: 1 of 1, gold 2. REGION: 1 of 2, gold 2.
EXPECTED = {"precision": 2 / 3, "recall": 2 / 4, "f1": 2 * (2 / 3) * (1 / 2) / (2 / 3 + 1 / 2)}
EXPECTED_BY_LABEL = {
    "COUNT": {"precision": 1.0, "recall": 0.5, "f1": 2 / 3},
    "REGION": {"precision": 0.5, "recall": 0.5, "f1": 0.5},
    "OUTCOME": {"precision": None, "recall": None, "f1": None},
}


def adjudicate(db, sentence_id: int, text: str) -> None:
    gold = GoldAnnotation(sentence_id=sentence_id)
    gold.spans = [
        GoldSpan(start_char=s, end_char=e, label=label, provenance="adjudicated") for s, e, label in GOLD[text]
    ]
    db.add(gold)
    db.flush()


def ruler_pipeline(path: Path) -> None:
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns(PATTERNS)  # type: ignore[attr-defined]
    nlp.to_disk(path)


@pytest.fixture
def modelled(db, tmp_path):
    """The project with version 1 trained on report A and active; gold on A1, A2, B1-B3; ann labelled B1."""
    project, _ = get_or_create_project(db, "incidents")
    a1, a2 = add_report(db, project, [A1, A2], "a" * 64)
    b1, b2, b3 = add_report(db, project, [B1, B2, B3], "b" * 64)
    adjudicate(db, a1, A1)
    db.commit()
    folder = tmp_path / "runs" / "incidents-v1"
    _, manifest = export_project(db, project, folder / "export", task="ner", policy="adjudicated", dev_fraction=0.0)
    assert manifest["counts"]["train"]["docs"] == 1
    ruler_pipeline(folder / "model-best")
    db.add(
        ModelVersion(
            project_id=project.id,
            number=1,
            status="done",
            active=True,
            task="ner",
            policy="adjudicated",
            settings={"dev_fraction": 0.0, "seed": 0, "max_steps": None},
            pipeline_dir=str(folder),
            content_sha256=manifest["content_sha256"],
        )
    )
    for sentence_id, text in ((a2, A2), (b1, B1), (b2, B2), (b3, B3)):
        adjudicate(db, sentence_id, text)
    ann = get_or_create_annotator(db, "ann")
    annotation = Annotation(sentence_id=b1, user_id=ann.id, status="done")
    annotation.spans = [Span(start_char=s, end_char=e, label=label) for s, e, label in GOLD[B1]]
    db.add(annotation)
    db.commit()
    return project


def check_figures(row: dict) -> None:
    assert {k: row[k] for k in EXPECTED} == pytest.approx(EXPECTED)
    for label, figures in EXPECTED_BY_LABEL.items():
        assert {k: row["by_label"][label][k] for k in figures} == pytest.approx(figures)


def test_model_scores_metric_by_hand_without_an_app():
    gold = [
        GoldRecord(1, tuple(GoldSpanRecord(s, e, label) for s, e, label in GOLD[B1])),
        GoldRecord(2, tuple(GoldSpanRecord(s, e, label) for s, e, label in GOLD[B2])),
        GoldRecord(3, tuple(GoldSpanRecord(s, e, label) for s, e, label in GOLD[B3])),
        GoldRecord(4, (GoldSpanRecord(0, 3, "COUNT"),)),  # no prediction entry: not scored
    ]
    predictions = {1: [span(B1, "Three", "COUNT")], 2: [span(B2, "Kyiv", "REGION")], 3: [span(B3, "fell", "REGION")]}
    row = model_vs_gold(predictions, gold, ["REGION", "COUNT", "OUTCOME"], n_resamples=300, seed=1)
    check_figures(row)
    assert row["sentences"] == 3
    low, high = row["ci"]["overall"]["f1"]
    assert 0 <= low <= row["f1"] <= high <= 1
    assert row["ci"]["by_label"]["OUTCOME"] == {"precision": None, "recall": None, "f1": None}
    assert model_vs_gold({}, gold, ["COUNT"])["f1"] is None


def test_model_scores_json_leaves_out_training_reports_and_scores_by_hand(runner, modelled):
    result = runner.invoke(["agreement", "--project", "incidents", "--json", "--resamples", "200"])
    assert result.exit_code == 0, result.output
    model = json.loads(result.output)["gold"]["model"]
    assert model["name"] == "model v1" and model["reason"] is None
    # A1 (trained on) and A2 (same report, adjudicated after the run) are left out.
    assert (model["gold"], model["excluded"], model["sentences"]) == (5, 2, 3)
    check_figures(model)
    low, high = model["ci"]["overall"]["f1"]
    assert low <= model["f1"] <= high
    # The annotator on the same sentences, by the same figure: ann matched the gold of B1.
    assert model["annotators"]["ann"]["f1"] == 1.0 and model["annotators"]["ann"]["sentences"] == 1


def test_model_scores_cli_table_has_the_model_row(runner, modelled):
    result = runner.invoke(["agreement", "--project", "incidents", "--resamples", "50"])
    assert result.exit_code == 0, result.output
    assert f"model v1  P {EXPECTED['precision']:.3f}" in result.output
    assert "(3 adjudicated sentences; 2 in its training reports left out)" in result.output
    missing = runner.invoke(["agreement", "--project", "incidents", "--model-version", "7"])
    assert missing.exit_code == 1 and "no model version 7" in missing.output


@pytest.mark.parametrize("number", ["0", "-1", str(MAX_ROW_ID + 1), "99999999999999999999"])
def test_model_scores_cli_model_version_outside_the_row_ids_is_a_usage_error(runner, modelled, number):
    result = runner.invoke(["agreement", "--project", "incidents", "--model-version", number])
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '--model-version': {number} is not in the range 1<=x<={MAX_ROW_ID}." in result.output


def test_model_scores_dashboard_row_and_note(login, modelled):
    client = login("rev", "reviewer")
    page = client.get("/projects/incidents/review").get_data(as_text=True)
    assert 'data-model-version="1"' in page and ">model v1</th>" in page
    assert f"{EXPECTED['f1']:.3f}" in page
    assert "scored on 3 adjudicated sentences" in page and "training sentences are excluded" in page
    assert 'id="model-by-label"' in page
    assert "Annotators on the same sentences (F1): ann" in page
    assert client.get("/projects/incidents/review?model_version=7").status_code == 404


def test_model_scores_cached_until_the_gold_changes(db, modelled, monkeypatch):
    from annotator.export import heldout

    calls = []
    real = heldout.predicted_spans
    monkeypatch.setattr(heldout, "predicted_spans", lambda nlp, texts: calls.append(len(texts)) or real(nlp, texts))
    model_scores._CACHE.clear()
    model_scores._PREDICTIONS.clear()
    model_scores._SPLITS.clear()
    first = model_scores.model_gold_row(db, modelled, n_resamples=20)
    again = model_scores.model_gold_row(db, modelled, n_resamples=20)
    assert first == again and calls == [3]
    b3 = db.query(GoldAnnotation).order_by(GoldAnnotation.id.desc()).first()
    sentence_id = b3.sentence_id
    db.delete(b3)
    db.commit()
    changed = model_scores.model_gold_row(db, modelled, n_resamples=20)
    assert changed["sentences"] == 2 and changed["precision"] == 1.0
    assert calls == [3]  # the row is scored again; the model's spans on B1 and B2 are kept
    adjudicate(db, sentence_id, B3)
    db.commit()
    assert model_scores.model_gold_row(db, modelled, n_resamples=20)["sentences"] == 3
    assert calls == [3]  # B3 was seen before
    (c1,) = add_report(db, modelled, [B2], "c" * 64)  # a new sentence: only it goes through the pipeline
    adjudicate(db, c1, B2)
    db.commit()
    assert model_scores.model_gold_row(db, modelled, n_resamples=20)["sentences"] == 4
    assert calls == [3, 1]


def test_model_scores_a_replaced_export_is_not_guessed(db, runner, modelled):
    version = db.query(ModelVersion).one()
    version.content_sha256 = "0" * 64
    db.commit()
    model = json.loads(runner.invoke(["agreement", "--project", "incidents", "--json", "--resamples", "20"]).output)[
        "gold"
    ]["model"]
    assert model["f1"] is None and "content hash differs" in model["reason"]


def test_model_scores_no_row_without_an_active_version(db, runner, login):
    build_project(db)
    report = json.loads(runner.invoke(["agreement", "--project", "incidents", "--json", "--resamples", "20"]).output)
    assert report["gold"]["model"] is None
    page = login("rev", "reviewer").get("/projects/incidents/review").get_data(as_text=True)
    assert "model-row" not in page and "model-note" not in page


def test_model_scores_a_trained_version_is_scored_outside_its_training_reports(db, runner, tmp_path):
    """A real run (``annotator train``): its export is read back, and its training sentences are left out."""
    from sqlalchemy import select

    from annotator.models import Project, Sentence, User
    from tests.helpers import import_trainable

    import_trainable(runner.invoke, tmp_path)
    trained = runner.invoke(["train", "--project", "p", "--max-steps", "10"])
    assert trained.exit_code == 0, trained.output
    project = db.scalar(select(Project).where(Project.name == "p"))
    version = db.query(ModelVersion).one()
    for annotation in db.scalars(
        select(Annotation)
        .join(Sentence, Sentence.id == Annotation.sentence_id)
        .join(User, User.id == Annotation.user_id)
        .where(Sentence.project_id == project.id, User.username == "alice")
    ):
        gold = GoldAnnotation(sentence_id=annotation.sentence_id)
        gold.spans = [
            GoldSpan(start_char=s.start_char, end_char=s.end_char, label=s.label, provenance="adjudicated")
            for s in annotation.spans
        ]
        db.add(gold)
    db.commit()
    report = json.loads(runner.invoke(["agreement", "--project", "p", "--json", "--resamples", "20"]).output)
    model = report["gold"]["model"]
    assert model["reason"] is None, model["reason"]
    assert model["excluded"] == version.export_counts["train"]["docs"] > 0
    assert model["sentences"] == model["gold"] - model["excluded"] == version.export_counts["dev"]["docs"] > 0
