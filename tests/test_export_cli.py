"""``annotator export`` and ``annotator train`` end to end, on each backend."""

import dataclasses
import json

import pytest
import spacy
from spacy.tokens import DocBin
from sqlalchemy import func, select, update

from annotator.models import AuditEvent, ModelVersion, Project, Span
from annotator.records import SpanRecord
from annotator.services.model_versions import pipeline_path
from tests.helpers import SENTENCES, write_annotations


@pytest.fixture
def annotated(runner, tmp_path):
    for name in ("alice", "bob"):
        write_annotations(tmp_path / f"{name}.jsonl", name, SENTENCES)
        result = runner.invoke(args=["import", str(tmp_path / f"{name}.jsonl"), "--project", "p"])
        assert result.exit_code == 0, result.output
    return tmp_path


def test_export_cli_writes_a_dataset_spacy_reads(runner, annotated):
    out = annotated / "out"
    result = runner.invoke(
        args=["export", "--project", "p", "--out", str(out), "--dev-fraction", "0.34", "--seed", "1"]
    )
    assert result.exit_code == 0, result.output
    assert "Exported to" in result.output and "excluded 0" in result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "annotations.jsonl",
        "config.cfg",
        "dev.spacy",
        "incidents.csv",
        "incidents.jsonl",
        "manifest.json",
        "train.spacy",
    ]
    vocab = spacy.blank("en").vocab
    docs = [d for name in ("train.spacy", "dev.spacy") for d in DocBin().from_disk(out / name).get_docs(vocab)]
    assert len(docs) == 3
    by_text = {d.text: sorted((e.start_char, e.end_char, e.label_) for e in d.ents) for d in docs}
    for text, spans in SENTENCES:
        assert by_text[text] == sorted(spans)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["sentences"]["by_gold_source"] == {
        "adjudicated": 0,
        "unanimous": 3,
        "majority": 0,
        "single annotator": 0,
        "annotator": 0,
    }
    assert manifest["agreement"]["span_f1"]["overall"] == 1.0
    assert {d.user_data["gold_source"] for d in docs} == {"unanimous"}


def test_export_cli_refuses_and_writes_nothing(runner, annotated):
    missing = runner.invoke(args=["export", "--project", "nope", "--out", str(annotated / "x")])
    assert missing.exit_code == 1 and "no project named 'nope'" in missing.output
    assert not (annotated / "x").exists()
    busy = annotated / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    refused = runner.invoke(args=["export", "--project", "p", "--out", str(busy)])
    assert refused.exit_code == 1 and "--force" in refused.output
    assert [p.name for p in busy.iterdir()] == ["keep.txt"]
    bad_policy = runner.invoke(args=["export", "--project", "p", "--policy", "loudest"])
    assert bad_policy.exit_code == 2 and "unknown gold policy" in bad_policy.output


@pytest.mark.parametrize("command", ["export", "train"])
@pytest.mark.parametrize("fraction", ["nan", "NaN", "-nan", "inf", "-inf", "Infinity"])
def test_export_cli_dev_fraction_that_is_no_finite_number_is_a_usage_error(runner, annotated, db, command, fraction):
    out = ["--out", str(annotated / "out")] if command == "export" else []
    result = runner.invoke(args=[command, "--project", "p", *out, "--dev-fraction", fraction])
    assert result.exit_code == 2, result.output
    why = f"{fraction!r} is not a number" if "nan" in fraction.lower() else "is not in the range 0<=x<1"
    assert "Invalid value for '--dev-fraction'" in result.output and why in result.output
    assert not (annotated / "out").exists()
    assert db.scalar(select(func.count()).select_from(ModelVersion)) == 0


def test_export_cli_empty_export_is_an_error(runner, tmp_path):
    (tmp_path / "r.txt").write_text("No annotations yet.\n", encoding="utf-8")
    assert runner.invoke(args=["import", str(tmp_path / "r.txt"), "--project", "p"]).exit_code == 0
    result = runner.invoke(args=["export", "--project", "p", "--out", str(tmp_path / "out")])
    assert result.exit_code == 1 and "Nothing was written" in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_export_cli_train_registers_the_pipeline(runner, annotated, db):
    result = runner.invoke(args=["train", "--project", "p", "--max-steps", "20", "--dev-fraction", "0.34"])
    assert result.exit_code == 0, result.output
    assert "COUNT" in result.output and "overall" in result.output
    project = db.scalar(select(Project).where(Project.name == "p"))
    (version,) = db.scalars(select(ModelVersion).where(ModelVersion.project_id == project.id))
    assert (version.number, version.status, version.active, version.task) == (1, "done", True, "ner")
    assert version.content_sha256 and version.config and version.progress and version.scores["per_label"]
    nlp = spacy.load(pipeline_path(version))
    assert "ner" in nlp.pipe_names
    (trained,) = db.scalars(select(AuditEvent).where(AuditEvent.action == "model.train"))
    assert trained.user_id is None and trained.detail["via"] == "command line"  # who trained it, from where
    assert (trained.entity_id, trained.detail["model_path"], trained.detail["task"], trained.detail["version"]) == (
        project.id,
        str(pipeline_path(version)),
        "ner",
        1,
    )


def test_export_cli_service_streams_batches_of_whole_reports(annotated, db):
    from annotator.services.exports import export_project
    from annotator.services.rows import iter_project_records, project_records

    project = db.scalar(select(Project).where(Project.name == "p"))
    whole = project_records(db, project)
    batches = list(iter_project_records(db, project, batch_sentences=2))
    assert [len(b.sentences) for b in batches] == [2, 1]  # whole reports of one sentence each
    assert [s for b in batches for s in b.sentences] == whole.sentences
    assert [a for b in batches for a in b.annotations] == whole.annotations
    assert {k: v for b in batches for k, v in b.gold.items()} == whole.gold
    # An export reads neither token offsets nor where accepted suggestions came from.
    db.execute(
        update(Span).where(Span.id == db.scalar(select(func.min(Span.id)))).values(suggested=True, source="rules")
    )
    whole = project_records(db, project)
    assert any(s.suggested and s.source == "rules" for a in whole.annotations for s in a.spans)
    light = list(iter_project_records(db, project, batch_sentences=2, tokens=False, suggestions=False))
    assert [s for b in light for s in b.sentences] == [dataclasses.replace(s, tokens=()) for s in whole.sentences]
    assert [a for b in light for a in b.annotations] == [
        dataclasses.replace(a, spans=tuple(SpanRecord(s.start_char, s.end_char, s.label, s.value) for s in a.spans))
        for a in whole.annotations
    ]

    one, manifest = export_project(db, project, annotated / "one", dev_fraction=0.34, seed=1)
    sharded, sharded_manifest = export_project(
        db, project, annotated / "sharded", dev_fraction=0.34, seed=1, batch_sentences=1, shard_size=1
    )
    assert (sharded / "train.spacy").is_dir() and (one / "train.spacy").is_file()
    vocab = spacy.blank("en").vocab

    def docs(path):
        files = sorted(path.iterdir()) if path.is_dir() else [path]
        return [
            (d.text, [(e.start_char, e.end_char, e.label_) for e in d.ents], d.user_data)
            for f in files
            for d in DocBin().from_disk(f).get_docs(vocab)
        ]

    for split in ("train.spacy", "dev.spacy"):
        assert docs(sharded / split) == docs(one / split)
    same = ("created_at", "content_sha256")
    assert {k: v for k, v in sharded_manifest.items() if k not in same} == {
        k: v for k, v in manifest.items() if k not in same
    }
    gold_scores = manifest["agreement"].pop("annotator_vs_gold")
    assert manifest["agreement"] == {
        "span_f1": {"overall": 1.0, "by_label": {"COUNT": 1.0, "OUTCOME": 1.0, "REGION": 1.0}},
        "pairs": 1,
    }
    # Two annotators, nothing adjudicated: no gold that is not their own vote.
    assert gold_scores["sentences"] == {"adjudicated": 0, "leave_one_out": 0}
    assert all(s["f1"] is None and s["reason"] for s in gold_scores["annotators"].values())


def test_export_cli_policy_help_lists_the_policies_table(runner):
    from annotator.export.gold import POLICIES

    for command in ("export", "train"):
        help_text = " ".join(runner.invoke(args=[command, "--help"]).output.split())
        for policy in POLICIES.values():
            assert f"{policy.spelled}: {policy.description}" in help_text


def test_export_cli_out_that_cannot_be_written_is_an_error(runner, annotated):
    """A folder under a file, or where nothing may be created, is a message and exit 1, not a traceback."""
    (annotated / "a-file").write_text("mine")
    expected = {
        annotated / "a-file" / "out": f"{annotated / 'a-file'} is a file, not a folder",
        annotated / "a-file" / "out" / "deeper": f"{annotated / 'a-file'} is a file, not a folder",
        "/proc/annotator-export": "cannot be written",
    }
    for out, said in expected.items():
        result = runner.invoke(args=["export", "--project", "p", "--out", str(out)])
        assert result.exit_code == 1, result.output
        assert isinstance(result.exception, SystemExit), result.exception
        assert f"--out {out}: {said}" in result.output and "Nothing was written" in result.output
    assert (annotated / "a-file").read_text() == "mine"


def test_export_cli_policy_of_an_annotator_name_that_is_not_text(runner, annotated):
    """What Python makes of a Latin-1 byte in an argument (an unpaired surrogate) is refused as the policy."""
    result = runner.invoke(args=["export", "--project", "p", "--policy", "annotator:caf\udce9"])
    assert result.exit_code == 2, result.output
    assert "annotator name" in result.output and "surrogate" in result.output


def test_export_cli_policy_of_an_annotator_no_account_has_is_said_as_such(runner, annotated, db):
    """Not "nothing to export ... not annotated by nobody": the name is wrong, and nothing is started."""
    out = annotated / "x"
    exported = runner.invoke(args=["export", "--project", "p", "--policy", "annotator:nobody", "--out", str(out)])
    assert exported.exit_code == 1, exported.output
    assert "gold policy 'annotator:nobody': there is no account named 'nobody'" in exported.output
    assert not out.exists()
    trained = runner.invoke(args=["train", "--project", "p", "--policy", "annotator:nobody"])
    assert trained.exit_code == 1 and "there is no account named 'nobody'" in trained.output
    assert db.scalar(select(func.count()).select_from(ModelVersion)) == 0  # no version queued for it
    # A name is read as written, as the policy reads it: "a " (with its space) is no account either.
    spaced = runner.invoke(args=["export", "--project", "p", "--policy", "annotator:a ", "--out", str(out)])
    assert spaced.exit_code == 1 and "there is no account named 'a '" in spaced.output


def test_export_cli_train_warns_when_the_version_it_made_active_learnt_nothing(runner, annotated, db):
    for number in (1, 2):  # one step learns nothing: F 0 on a dev split that has spans
        result = runner.invoke(args=["train", "--project", "p", "--max-steps", "1", "--dev-fraction", "0.34"])
        assert result.exit_code == 0, result.output
        version = db.scalar(select(ModelVersion).where(ModelVersion.number == number))
        assert version.active and version.scores["overall"]["f"] == 0
        assert sum(version.export_counts["dev"]["labels"].values()) > 0
        assert f"Warning: version {number} scored F 0 on dev, so it learnt nothing" in result.output
        db.rollback()
    assert "or make version 1 active again on the Models page." in result.output  # the way back, named
