"""Training from an export: spaCy's own CLI, and annotator.export.training's API.

Small generated corpora and 30 steps keep each run to seconds; the tests
check that training runs and reports, not how well it learns.
"""

from __future__ import annotations

import random
import subprocess
import sys

import pytest
import spacy

from annotator.export.build import build_export, stream_export, write_export
from annotator.export.training import (
    TrainingError,
    load_pipeline,
    predict_spans,
    progress_record,
    read_progress,
    read_scores,
    train,
)
from annotator.records import AnnotationRecord, SentenceRecord, SpanRecord

TASKS = ["ner", "spancat"]
COUNTS = ["Two", "Three", "Five", "12", "Seven", "40"]
REGIONS = ["Kyiv", "Odesa", "Kharkiv region", "Sumy", "Lviv", "Белгород"]
OUTCOMES = ["shot down", "intercepted", "destroyed"]
TEMPLATES = [
    "{count} drones were {outcome} over {region}.",
    "Over {region}, {count} missiles were {outcome} at night.",
    "Air defence: {count} Shaheds {outcome} near {region} 🚀",
]
STEPS = ["--training.max_steps", "30", "--training.eval_frequency", "10"]


@pytest.fixture(scope="session")
def nlp():
    return spacy.blank("en")


def corpus(n_reports: int = 30, per_report: int = 5):
    """Short sentences, two agreeing annotators: mostly COUNT, REGION and
    OUTCOME spans, every tenth a negative. ``spacy debug data`` wants at
    least 100 training examples for a blank pipeline."""
    sentences, annotations = [], []
    rng = random.Random(0)
    for i in range(n_reports * per_report):
        template, count, outcome, region = (rng.choice(c) for c in (TEMPLATES, COUNTS, OUTCOMES, REGIONS))
        text = template.format(count=count, outcome=outcome, region=region)
        spans = tuple(
            SpanRecord(text.index(part), text.index(part) + len(part), label)
            for part, label in ((count, "COUNT"), (region, "REGION"), (outcome, "OUTCOME"))
        )
        if i % 10 == 9:
            text, spans = f"No incidents were reported in report {i}.", ()
        sentence = SentenceRecord(id=i, report_id=i // per_report, position=i % per_report, text=text)
        sentences.append(sentence)
        annotations += [AnnotationRecord(i, name, "done", spans) for name in ("ana", "bo")]
    return sentences, annotations


@pytest.fixture(scope="module", params=TASKS)
def export_dir(request, nlp, tmp_path_factory):
    sentences, annotations = corpus()
    result = build_export(nlp, sentences, annotations, [], project="t", task=request.param, dev_fraction=0.25)
    assert result.manifest["counts"]["dev"]["docs"] > 0
    return write_export(result, tmp_path_factory.mktemp(request.param) / "export")


@pytest.fixture(scope="module")
def trained(export_dir, tmp_path_factory):
    output = tmp_path_factory.mktemp("model")
    return train(export_dir, output, max_steps=30, eval_frequency=10), output


def spacy_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "spacy", *args], capture_output=True, text=True, timeout=600)


def assert_spacy_trains(export_dir, out):
    """The documented ``spacy train`` command, unchanged, trains a pipeline from the export."""
    run = spacy_cli(
        "train",
        str(export_dir / "config.cfg"),
        "--paths.train",
        str(export_dir / "train.spacy"),
        "--paths.dev",
        str(export_dir / "dev.spacy"),
        "--output",
        str(out),
        *STEPS,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert (out / "model-best" / "meta.json").is_file()


@pytest.mark.slow
def test_training_spacy_train_cli_runs_on_export(export_dir, tmp_path):
    assert_spacy_trains(export_dir, tmp_path / "out")


@pytest.mark.slow
@pytest.mark.parametrize("task", TASKS)
def test_training_spacy_train_cli_runs_on_sharded_export(nlp, tmp_path, task):
    """A large export's train.spacy and dev.spacy are folders of shards; the documented command is unchanged."""
    sentences, annotations = corpus()
    batches = ((sentences[i : i + 25], annotations[2 * i : 2 * (i + 25)], []) for i in range(0, len(sentences), 25))
    export_dir, manifest = stream_export(
        nlp, batches, tmp_path / "export", project="t", task=task, dev_fraction=0.25, shard_size=5
    )
    assert (export_dir / "train.spacy").is_dir() and (export_dir / "dev.spacy").is_dir()
    assert len(list((export_dir / "train.spacy").iterdir())) == -(-manifest["counts"]["train"]["docs"] // 5)
    assert_spacy_trains(export_dir, tmp_path / "out")
    scores = train(
        export_dir, tmp_path / "api", max_steps=10, eval_frequency=5
    )  # annotator train takes the folders too
    assert set(scores["overall"]) == {"p", "r", "f"}


@pytest.mark.slow
def test_training_spacy_debug_data_passes_on_export(export_dir):
    run = spacy_cli(
        "debug",
        "data",
        str(export_dir / "config.cfg"),
        "--paths.train",
        str(export_dir / "train.spacy"),
        "--paths.dev",
        str(export_dir / "dev.spacy"),
    )
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.slow
def test_training_train_returns_per_label_scores(trained):
    scores, output = trained
    assert scores["model"] == str(output / "model-best")
    assert set(scores["overall"]) == {"p", "r", "f"}
    assert scores["per_label"], scores
    assert set(scores["per_label"]) <= {"COUNT", "REGION", "OUTCOME"}
    for label_scores in scores["per_label"].values():
        assert set(label_scores) == {"p", "r", "f"}
        assert all(0.0 <= value <= 1.0 for value in label_scores.values())
    assert read_scores(output / "model-best") == scores


@pytest.mark.slow
def test_training_predict_spans_returns_suggestions(trained):
    _, output = trained
    model = load_pipeline(output / "model-best")
    text = "Three drones were destroyed over Odesa."
    spans = predict_spans(model, text)
    assert isinstance(spans, list)
    for span in spans:
        assert span.suggested and span.label in {"COUNT", "REGION", "OUTCOME"}
        assert 0 <= span.start_char < span.end_char <= len(text)
    assert spans == sorted(spans, key=lambda s: (s.start_char, s.end_char, s.label))


def test_training_train_refuses_a_directory_that_is_not_an_export(tmp_path):
    with pytest.raises(TrainingError, match="config.cfg, train.spacy, dev.spacy missing"):
        train(tmp_path, tmp_path / "out")
    with pytest.raises(TrainingError, match="meta.json missing"):
        read_scores(tmp_path)


@pytest.mark.slow
def test_training_progress_file_records_each_evaluation(export_dir, tmp_path):
    progress = tmp_path / "progress.jsonl"
    scores = train(export_dir, tmp_path / "out", max_steps=20, eval_frequency=5, progress_file=progress)
    assert set(scores["overall"]) == {"p", "r", "f"}
    records = read_progress(progress)
    assert [r["step"] for r in records] == [0, 5, 10, 15, 20]
    for record in records:
        assert set(record["dev"]) == {"p", "r", "f"} and record["loss"] >= 0 and record["losses"]
    # The saved pipeline is a plain spaCy one: its config names the export's logger again.
    config = spacy.util.load_config(tmp_path / "out" / "model-best" / "config.cfg")
    assert config["training"]["logger"] == spacy.util.load_config(export_dir / "config.cfg")["training"]["logger"]
    assert spacy.load(tmp_path / "out" / "model-best").pipe_names


def test_training_read_progress_leaves_a_partial_line(tmp_path):
    path = tmp_path / "progress.jsonl"
    assert read_progress(path) == []
    path.write_text('{"step": 0}\n{"step": 5}\n{"ste', encoding="utf-8")
    assert read_progress(path) == [{"step": 0}, {"step": 5}]


def test_training_progress_record_reads_spacys_info():
    info = {
        "epoch": 1,
        "step": 10,
        "seconds": 3,
        "score": 0.5,
        "losses": {"tok2vec": 1.5, "ner": 2.0},
        "other_scores": {"ents_f": 0.5, "ents_p": 0.25, "ents_r": 1.0, "ents_per_type": {}},
    }
    assert progress_record(info) == {
        "step": 10,
        "epoch": 1,
        "seconds": 3,
        "loss": 3.5,
        "losses": {"tok2vec": 1.5, "ner": 2.0},
        "score": 0.5,
        "dev": {"p": 0.25, "r": 1.0, "f": 0.5},
    }
