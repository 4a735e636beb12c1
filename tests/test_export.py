"""Export: grouped split, Doc building, manifest, Prodigy JSONL and atomic writes."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin
from spacy.training import Corpus
from thinc.api import Config

from annotator.export.build import ExportError, build_export, grouped_split, stream_export, write_export
from annotator.export.spacy_config import make_config
from annotator.records import AnnotationRecord, GoldRecord, GoldSpanRecord, SentenceRecord, SpanRecord


@pytest.fixture(scope="session")
def nlp():
    return spacy.blank("en")


def span(text: str, part: str, label: str, value: str | None = None, nth: int = 0) -> SpanRecord:
    """The span of the ``nth`` occurrence of ``part`` in ``text`` (code points)."""
    start = -1
    for _ in range(nth + 1):
        start = text.index(part, start + 1)
    return SpanRecord(start, start + len(part), label, value)


def done(sentence: SentenceRecord, *spans: SpanRecord, names=("ana", "bo")) -> list[AnnotationRecord]:
    """Every named annotator marked exactly ``spans``."""
    return [AnnotationRecord(sentence.id, name, "done", spans) for name in names]


# Texts that trip offset arithmetic: astral emoji, Cyrillic, a CRLF inside
# the sentence, double spaces and a non-breaking space.
TRICKY = [
    ("🚀 Three drones hit Белгород overnight.", [("Белгород", "REGION", "Belgorod Oblast"), ("Three", "COUNT", "3")]),
    (
        "Two\r\ndrones fell near Kyiv\r\nregion today.",
        [("Two", "COUNT", "2"), ("Kyiv\r\nregion", "REGION", "Kyiv Oblast")],
    ),
    (
        "Five  missiles were  intercepted over  Odesa.",
        [("Five", "COUNT", "5"), ("intercepted", "OUTCOME", None), ("Odesa", "REGION", "Odesa Oblast")],
    ),
    (
        "Shahed drones over\xa0Kharkiv were destroyed.",
        [("Kharkiv", "REGION", "Kharkiv Oblast"), ("destroyed", "OUTCOME", None)],
    ),
    ("🚀🚀 12 drones launched at Sumy 🚀 in total.", [("12", "COUNT", "12"), ("Sumy", "REGION", "Sumy Oblast")]),
    ("Nothing was reported in Lviv\xa0\xa0today.", [("Lviv", "REGION", "Lviv Oblast")]),
]


def tricky_corpus():
    sentences, annotations, expected = [], [], {}
    for i, (text, parts) in enumerate(TRICKY):
        sentence = SentenceRecord(id=100 + i, report_id=i, position=0, text=text)
        spans = tuple(span(text, part, label, value) for part, label, value in parts)
        sentences.append(sentence)
        annotations += done(sentence, *spans)
        expected[sentence.id] = sorted((part, label) for part, label, _ in parts)
    return sentences, annotations, expected


def read_docbin(path: Path):
    return list(DocBin().from_disk(path).get_docs(spacy.blank("en").vocab))


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 17, 2024])
def test_export_grouped_split_keeps_reports_whole_and_is_deterministic(seed):
    by_report = {r: [r * 100 + i for i in range(1 + (r * 7) % 5)] for r in range(20)}
    train, dev = grouped_split(by_report, 0.25, seed)
    assert (train, dev) == grouped_split(by_report, 0.25, seed)
    assert sorted(train + dev) == sorted(i for ids in by_report.values() for i in ids)
    report_of = {i: r for r, ids in by_report.items() for i in ids}
    assert not {report_of[i] for i in train} & {report_of[i] for i in dev}
    total = len(train) + len(dev)
    largest = max(len(ids) for ids in by_report.values())
    assert abs(len(dev) - 0.25 * total) <= largest


@pytest.mark.parametrize("seed", range(8))
def test_export_grouped_split_finds_the_closest_grouping(seed):
    by_report = {1: list(range(10)), 2: list(range(10, 13)), 3: list(range(13, 15)), 4: list(range(15, 20))}
    train, dev = grouped_split(by_report, 0.25, seed)  # 5 of 20: report 4, or reports 2 and 3
    assert len(dev) == 5 and len(train) == 15


def test_export_grouped_split_seed_changes_the_split():
    by_report = {r: [r * 10, r * 10 + 1] for r in range(30)}
    splits = {tuple(grouped_split(by_report, 0.2, seed)[1]) for seed in range(5)}
    assert len(splits) > 1


@pytest.mark.parametrize("fraction", [0.01, 0.5, 0.99])
def test_export_grouped_split_two_reports_fill_both_sides(fraction):
    train, dev = grouped_split({1: [1, 2, 3], 2: [4, 5, 6, 7]}, fraction, seed=0)
    assert train and dev


def test_export_grouped_split_edge_cases():
    assert grouped_split({1: [1, 2], 2: [3]}, 0.0, 0) == ([1, 2, 3], [])
    assert grouped_split({1: [1, 2]}, 0.5, 0) == ([1, 2], [])
    assert grouped_split({}, 0.2, 0) == ([], [])
    with pytest.raises(ValueError):
        grouped_split({1: [1]}, 1.0, 0)


@pytest.mark.parametrize("task", ["ner", "spancat"])
def test_export_round_trip_keeps_span_texts_of_tricky_sentences(nlp, tmp_path, task):
    sentences, annotations, expected = tricky_corpus()
    result = build_export(nlp, sentences, annotations, [], project="p", task=task, dev_fraction=0.3, seed=1)
    assert result.manifest["misaligned"] == [] and result.manifest["conflicts"] == []
    out = write_export(result, tmp_path / "export")

    docs = read_docbin(out / "train.spacy") + read_docbin(out / "dev.spacy")
    assert len(read_docbin(out / "dev.spacy")) > 0
    assert sorted(doc.user_data["sentence_id"] for doc in docs) == sorted(expected)
    text_of = {s.id: s.text for s in sentences}
    for doc in docs:
        sentence_id = doc.user_data["sentence_id"]
        assert doc.text == text_of[sentence_id]
        spans = doc.ents if task == "ner" else doc.spans["sc"]
        assert sorted((s.text, s.label_) for s in spans) == expected[sentence_id]
        assert doc.user_data["project"] == "p"
        assert doc.user_data["report_id"] == sentence_id - 100
        assert doc.user_data["gold_source"] == "unanimous"
        for s in spans:
            assert (
                doc.user_data["values"].get(f"{s.start_char}:{s.end_char}:{s.label_}")
                == (dict((p, v) for p, _, v in TRICKY[sentence_id - 100][1])[s.text])
            )
            assert s.kb_id_ == (
                doc.user_data["values"][f"{s.start_char}:{s.end_char}:REGION"] if s.label_ == "REGION" else ""
            )


def test_export_ner_tokens_outside_spans_are_o_not_missing(nlp):
    sentences, annotations, _ = tricky_corpus()
    result = build_export(nlp, sentences, annotations, [], project="p", dev_fraction=0.0)
    for doc in result.train.get_docs(spacy.blank("en").vocab):
        assert all(token.ent_iob_ in ("B", "I", "O") for token in doc)


def test_export_negative_sentence_is_exported_with_no_spans(nlp):
    sentence = SentenceRecord(1, 1, 0, "All quiet in the night.")
    result = build_export(nlp, [sentence], done(sentence), [], project="p", dev_fraction=0.0, labels=["REGION"])
    (doc,) = result.train.get_docs(spacy.blank("en").vocab)
    assert list(doc.ents) == [] and {t.ent_iob_ for t in doc} == {"O"}


@pytest.mark.parametrize("task", ["ner", "spancat"])
def test_export_misaligned_span_is_listed_and_sentence_excluded(nlp, task):
    good = SentenceRecord(1, 1, 0, "Drones over Kyiv.")
    cut = SentenceRecord(2, 2, 0, "Drones over Kharkiv.")
    edge = SentenceRecord(3, 3, 0, "Drones over  Sumy.")
    annotations = (
        done(good, span(good.text, "Kyiv", "REGION"))
        + done(cut, span(cut.text, "Kharkiv", "REGION"), SpanRecord(12, 17, "REGION"))  # "Khark"
        + done(edge, SpanRecord(11, 17, "REGION"))  # "  Sumy": starts with white space
    )
    result = build_export(nlp, [good, cut, edge], annotations, [], project="p", task=task, dev_fraction=0.0)
    manifest = result.manifest
    assert [(m["sentence_id"], m["text"], m["problem"]) for m in manifest["misaligned"]] == [
        (2, "Khark", "not on token boundaries"),
        (3, "  Sumy", "white space at the edge of the span"),
    ]
    assert manifest["misaligned"][0]["span"] == {"start_char": 12, "end_char": 17, "label": "REGION"}
    assert manifest["misaligned"][0]["tokens"] == ["Kharkiv"]
    assert manifest["sentences"]["excluded"] == {"misaligned span": 2}
    assert [d.user_data["sentence_id"] for d in result.train.get_docs(nlp.vocab)] == [1]
    answers = {r["meta"]["sentence_id"]: r["answer"] for r in result.prodigy_records}
    assert answers == {1: "accept", 2: "ignore", 3: "ignore"}


def test_export_span_outside_sentence_is_misaligned(nlp):
    sentence = SentenceRecord(1, 1, 0, "Drones over Kyiv.")
    result = build_export(nlp, [sentence], done(sentence, SpanRecord(12, 40, "REGION")), [], project="p")
    assert result.manifest["misaligned"][0]["problem"] == "offsets outside the sentence"
    assert result.n_docs == 0


def test_export_ner_overlap_is_a_conflict_but_spancat_keeps_it(nlp):
    text = "Drones hit Kharkiv region at night."
    sentence = SentenceRecord(5, 1, 0, text)
    spans = (span(text, "Kharkiv", "REGION"), span(text, "Kharkiv region", "REGION"))
    annotations = done(sentence, *spans)

    ner = build_export(nlp, [sentence], annotations, [], project="p", task="ner", dev_fraction=0.0)
    assert ner.n_docs == 0
    (conflict,) = ner.manifest["conflicts"]
    assert conflict["sentence_id"] == 5
    assert [s["text"] for s in conflict["spans"]] == ["Kharkiv", "Kharkiv region"]
    assert ner.manifest["sentences"]["excluded"] == {"overlapping spans": 1}

    spancat = build_export(nlp, [sentence], annotations, [], project="p", task="spancat", dev_fraction=0.0)
    (doc,) = spancat.train.get_docs(spacy.blank("en").vocab)
    assert sorted(s.text for s in doc.spans["sc"]) == ["Kharkiv", "Kharkiv region"]
    assert spancat.manifest["conflicts"] == []


def test_export_manifest_counts(nlp, tmp_path):
    texts = [f"Report {r} says {n} drones hit Odesa." for r in range(4) for n in ("two", "three")]
    sentences = [SentenceRecord(i, i // 2, i % 2, t) for i, t in enumerate(texts)]
    annotations, gold = [], []
    for s in sentences[:5]:  # 0-4 voted unanimously, with a COUNT and a REGION
        annotations += done(s, span(s.text, s.text.split()[3], "COUNT"), span(s.text, "Odesa", "REGION"))
    odesa = span(texts[5], "Odesa", "REGION")
    gold.append(GoldRecord(5, (GoldSpanRecord(odesa.start_char, odesa.end_char, "REGION"),)))
    annotations += [  # 6: a 2-1 majority; 7: skipped by all
        AnnotationRecord(6, "ana", "done", (span(texts[6], "Odesa", "REGION"),)),
        AnnotationRecord(6, "bo", "done", (span(texts[6], "Odesa", "REGION"),)),
        AnnotationRecord(6, "cy", "done"),
        AnnotationRecord(7, "ana", "skipped"),
    ]
    sentences.append(SentenceRecord(99, 9, 0, "Never annotated."))
    agreement = {"alpha": 0.8, "n_items": 7}
    result = build_export(
        nlp, sentences, annotations, gold, project="demo", task="ner", dev_fraction=0.25, seed=3, agreement=agreement
    )
    manifest = result.manifest
    train, dev = manifest["counts"]["train"], manifest["counts"]["dev"]
    assert train["docs"] + dev["docs"] == 7 and dev["docs"] == 2
    assert train["spans"] + dev["spans"] == 12
    assert train["labels"]["REGION"] + dev["labels"]["REGION"] == 7
    assert train["labels"]["COUNT"] + dev["labels"]["COUNT"] == 5
    assert manifest["sentences"] == {
        "total": 9,
        "exported": 7,
        "by_gold_source": {"adjudicated": 1, "unanimous": 5, "majority": 1, "single annotator": 0, "annotator": 0},
        "excluded": {"no annotations": 1, "skipped by all": 1},
    }
    assert manifest["labels"] == ["COUNT", "REGION"]
    assert manifest["agreement"] == agreement
    assert manifest["spacy_version"] == spacy.__version__
    assert (manifest["project"], manifest["task"], manifest["policy"], manifest["seed"]) == (
        "demo",
        "ner",
        "majority",
        3,
    )
    assert manifest["dev_fraction"] == 0.25 and manifest["created_at"]

    out = write_export(result, tmp_path / "out")
    written = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    digest = hashlib.sha256((out / "train.spacy").read_bytes() + (out / "dev.spacy").read_bytes())
    assert written["content_sha256"] == digest.hexdigest() == manifest["content_sha256"]
    rebuilt = build_export(
        nlp, sentences, annotations, gold, project="demo", task="ner", dev_fraction=0.25, seed=3, agreement=agreement
    )
    assert rebuilt.manifest["content_sha256"] == manifest["content_sha256"]


def test_export_labels_filter_counts_dropped_spans(nlp):
    text = "Two drones over Kyiv."
    sentence = SentenceRecord(1, 1, 0, text)
    annotations = done(sentence, span(text, "Two", "COUNT"), span(text, "Kyiv", "REGION"))
    result = build_export(nlp, [sentence], annotations, [], project="p", labels=["REGION"], dev_fraction=0.0)
    (doc,) = result.train.get_docs(nlp.vocab)
    assert [(e.text, e.label_) for e in doc.ents] == [("Kyiv", "REGION")]
    assert result.manifest["dropped_by_label"] == {"COUNT": 1}
    assert result.manifest["labels"] == ["REGION"]


def test_export_progress_is_called_per_sentence(nlp):
    sentences, annotations, _ = tricky_corpus()
    seen = []
    build_export(nlp, sentences, annotations, [], project="p", progress=seen.append)
    assert seen == list(range(1, len(sentences) + 1))


def test_export_prodigy_jsonl_shape(nlp, tmp_path):
    sentences, annotations, _ = tricky_corpus()
    crlf = sentences[1]
    annotations = [a for a in annotations if a.sentence_id != crlf.id] + [
        AnnotationRecord(
            crlf.id, "ana", "done", (span(crlf.text, "Two", "COUNT", "2"), span(crlf.text, "Kyiv\r\nregion", "REGION"))
        ),
        AnnotationRecord(crlf.id, "bo", "done", (span(crlf.text, "Two", "COUNT", "2"),)),
        AnnotationRecord(crlf.id, "cy", "done", (span(crlf.text, "Two", "COUNT", "2"),)),
        AnnotationRecord(crlf.id, "di", "skipped"),
    ]
    sentences.append(SentenceRecord(999, 50, 0, "Not annotated at all."))
    out = write_export(build_export(nlp, sentences, annotations, [], project="p"), tmp_path / "x")
    lines = (out / "annotations.jsonl").read_text(encoding="utf-8").split("\n")
    assert lines[-1] == ""
    records = {r["meta"]["sentence_id"]: r for r in map(json.loads, lines[:-1])}
    assert sorted(records) == [s.id for s in sentences[:-1]]

    record = records[crlf.id]
    assert set(record) == {"text", "tokens", "spans", "relations", "meta", "answer", "_annotators"}
    assert record["relations"] == []
    assert record["text"] == crlf.text
    assert record["meta"] == {"sentence_id": crlf.id, "report_id": crlf.report_id, "gold_source": "majority"}
    assert record["answer"] == "accept"
    tokens = record["tokens"]
    assert [t["id"] for t in tokens] == list(range(len(tokens)))
    assert "".join(t["text"] + (" " if t["ws"] else "") for t in tokens) == crlf.text
    assert all(crlf.text[t["start"] : t["end"]] == t["text"] for t in tokens)
    (gold_span,) = record["spans"]
    assert gold_span == {"start": 0, "end": 3, "token_start": 0, "token_end": 0, "label": "COUNT", "value": "2"}
    assert set(record["_annotators"]) == {"ana", "bo", "cy", "di"}
    assert record["_annotators"]["di"] == {"status": "skipped", "spans": [], "relations": []}
    region = record["_annotators"]["ana"]["spans"][1]
    # token_end is inclusive, as in Prodigy: "Kyiv", "\r\n", "region".
    assert [t["text"] for t in tokens[region["token_start"] : region["token_end"] + 1]] == ["Kyiv", "\r\n", "region"]


def prodigy_cases(nlp):
    """(doc, sentence, annotations, spans, resolution, excluded) of every sentence of ``mixed_corpus``, of
    odd texts (tabs, separators, quotes, control characters, white space only) with values and incidents,
    and of each sentence excluded with a reason: what ``first_pass`` hands to the Prodigy line."""
    from annotator.export.gold import resolve_gold
    from annotator.records import IncidentRecord

    sentences, annotations, gold = mixed_corpus()
    odd = [
        'Tab\there, "quoted" back\\slash 5 drones.',
        "Separators\u2028inside\u2029and\x85here over Lviv.",
        "Control \x01 char, émigré 東京 🚀 7 UAVs.",
        "  Leading and trailing  ",
        " ",
    ]
    for i, text in enumerate(odd):
        sentence = SentenceRecord(7000 + i, 700 + i, 0, text)
        sentences.append(sentence)
        words = [(m.start(), m.end()) for m in re.finditer(r"\w+", text)][:3]
        spans = tuple(
            SpanRecord(start, end, label, value)
            for (start, end), label, value in zip(words, ["COUNT", "REGION", "OUTCOME"], ["7", 'a\u2028"b"', None])
        )
        if len(spans) > 1:
            spans += (SpanRecord(spans[0].start_char, spans[0].end_char + 1, "REGION"),)  # white space at its edge
        incidents = (IncidentRecord(tuple(sorted((s.start_char, s.end_char, s.label) for s in spans[:2]))),)
        annotations += [
            AnnotationRecord(sentence.id, name, status, spans, incidents=incidents if len(spans) > 1 else ())
            for name, status in [("bo", "done"), ("ana", "done"), ("cy", "flagged")]
        ]
    by_sentence: dict[int, list[AnnotationRecord]] = {}
    for annotation in annotations:
        by_sentence.setdefault(annotation.sentence_id, []).append(annotation)
    gold_of = {g.sentence_id: g for g in gold}
    cases = []
    for sentence in sentences:
        own = by_sentence.get(sentence.id, [])
        for policy in ("majority", "annotator:ana"):
            resolution = resolve_gold(sentence, own, gold_of.get(sentence.id), policy)
            for excluded in (resolution.excluded, "misaligned span"):
                doc = nlp.make_doc(sentence.text)
                cases.append((doc, sentence, own, resolution.spans, resolution, excluded))
    return cases


def test_export_prodigy_line_is_the_jsonl_of_the_prodigy_record(nlp):
    from annotator.export.align import jsonl_line, prodigy_line, prodigy_record

    cases = prodigy_cases(nlp)
    assert any(r.incidents for *_, r, _ in cases) and any(s.value for c in cases for s in c[3])
    for case in cases:
        assert prodigy_line(*case) == jsonl_line(prodigy_record(*case)), case[1].text


def test_export_annotations_jsonl_is_what_the_prodigy_records_encode(nlp, tmp_path, monkeypatch):
    from annotator.export import first_pass
    from annotator.export.align import jsonl_line, prodigy_record

    sentences, annotations, gold = mixed_corpus()
    fast = write_export(build_export(nlp, sentences, annotations, gold, project="p"), tmp_path / "fast")
    monkeypatch.setattr(first_pass, "prodigy_line", lambda *case: jsonl_line(prodigy_record(*case)))
    plain = write_export(build_export(nlp, sentences, annotations, gold, project="p"), tmp_path / "plain")
    assert (fast / "annotations.jsonl").read_bytes() == (plain / "annotations.jsonl").read_bytes()


def test_export_spancat_suggester_covers_longest_span(nlp):
    text = "Drones hit the Kharkiv oblast border area today."
    sentence = SentenceRecord(1, 1, 0, text)
    longest = span(text, "Kharkiv oblast border area", "REGION")
    result = build_export(nlp, [sentence], done(sentence, longest), [], project="p", task="spancat")
    config = Config().from_str(result.config)
    assert config["components"]["spancat"]["suggester"]["sizes"] == [1, 2, 3, 4]
    assert result.manifest["max_span_tokens"] == 4


@pytest.mark.parametrize("task", ["ner", "spancat"])
def test_export_config_is_a_complete_cpu_config(task):
    config = Config().from_str(make_config(task, ["REGION"], lang="en", max_span_tokens=2))
    assert config["paths"]["train"] is None and config["paths"]["dev"] is None
    assert config["nlp"]["lang"] == "en"
    assert config["nlp"]["pipeline"] == ["tok2vec", task]
    assert config["paths"]["vectors"] is None
    assert config["system"]["gpu_allocator"] is None
    with pytest.raises(ValueError):
        make_config(task, [], lang="en")


def test_export_ner_config_is_made_once_whatever_the_longest_span():
    from annotator.export import spacy_config

    first = make_config("ner", ["REGION"], lang="en", max_span_tokens=1)
    made = spacy_config._config.cache_info().misses
    assert make_config("ner", ["REGION"], lang="en", max_span_tokens=7) == first  # ner's config has no span size
    assert spacy_config._config.cache_info().misses == made
    assert "sizes = [1, 2, 3]" in make_config("spancat", ["REGION"], lang="en", max_span_tokens=3)


def test_export_write_refuses_non_empty_dir_and_leaves_it_alone(nlp, tmp_path):
    sentences, annotations, _ = tricky_corpus()
    result = build_export(nlp, sentences, annotations, [], project="p")
    out = tmp_path / "export"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ExportError, match="exists and is not empty; use --force"):
        write_export(result, out)
    assert [p.name for p in tmp_path.iterdir()] == ["export"]
    assert [p.name for p in out.iterdir()] == ["notes.txt"]

    # --force replaces an earlier export, never a folder of other files: they stay as they were.
    with pytest.raises(ExportError, match=r"is not an earlier export \('notes.txt'\)"):
        write_export(result, out, force=True)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["export"]


def test_export_force_replaces_an_earlier_export_only(nlp, tmp_path):
    sentences, annotations, _ = tricky_corpus()
    result = build_export(nlp, sentences, annotations, [], project="p")
    out = tmp_path / "export"
    write_export(result, out)
    (out / "dev.spacy").unlink()  # an export holds some of the export files: it is still one
    write_export(result, out, force=True)
    assert sorted(p.name for p in out.iterdir()) == sorted(result.manifest["files"])
    assert [p.name for p in tmp_path.iterdir()] == ["export"]

    (out / "manifest.json").unlink()  # export files without a manifest: not known to be an export
    with pytest.raises(ExportError, match="no manifest.json"):
        write_export(result, out, force=True)
    assert "train.spacy" in {p.name for p in out.iterdir()}

    work = tmp_path / "work"  # `annotator export --out . --force` in a working folder
    (work / "code").mkdir(parents=True)
    (work / "code" / "main.py").write_text("print()")
    (work / "manifest.json").write_text("{}")
    with pytest.raises(ExportError, match="is not an earlier export \\('code'\\)"):
        write_export(result, work, force=True)
    assert (work / "code" / "main.py").read_text() == "print()"


def test_export_write_into_empty_existing_dir(nlp, tmp_path):
    sentences, annotations, _ = tricky_corpus()
    (tmp_path / "export").mkdir()
    out = write_export(build_export(nlp, sentences, annotations, [], project="p"), tmp_path / "export")
    assert (out / "train.spacy").is_file()


def test_export_write_refuses_empty_export_and_writes_nothing(nlp, tmp_path):
    sentence = SentenceRecord(1, 1, 0, "Drones over Kyiv.")
    skipped = [AnnotationRecord(1, "ana", "skipped")]
    result = build_export(nlp, [sentence], skipped, [], project="p")
    with pytest.raises(ExportError, match="nothing to export") as refused:
        write_export(result, tmp_path / "deep" / "export")
    assert list(tmp_path.iterdir()) == []
    # The reasons read as words, not as a Python dict; a project without sentences is told to import.
    assert "(sentences left out, by reason: skipped by all 1);" in str(refused.value)
    with pytest.raises(ExportError, match="^nothing to export: the project has no sentences; import reports first$"):
        write_export(build_export(nlp, [], [], [], project="p"), tmp_path / "empty")


def test_export_write_refuses_export_without_spans(nlp, tmp_path):
    sentence = SentenceRecord(1, 1, 0, "All quiet.")
    result = build_export(nlp, [sentence], done(sentence), [], project="p", labels=["REGION"])
    assert result.n_docs == 1
    with pytest.raises(ExportError, match="no spans"):
        write_export(result, tmp_path / "export")
    assert list(tmp_path.iterdir()) == []


def test_export_rejects_unknown_task_and_policy(nlp):
    with pytest.raises(ValueError, match="unknown task"):
        build_export(nlp, [], [], [], project="p", task="textcat")
    with pytest.raises(ValueError, match="unknown gold policy"):
        build_export(nlp, [], [], [], project="p", policy="best")


def mixed_corpus():
    """Tricky texts, a gold adjudication, a misaligned span, a ner conflict, a skipped and an
    unannotated sentence, and reports of several sentences: every path of the export."""
    sentences, annotations, _ = tricky_corpus()
    gold = []
    for r in range(10, 22):
        for position in range(1 + r % 3):
            sentence = SentenceRecord(
                1000 + r * 10 + position, r, position, f"Report {r}: {position + 2} drones hit Odesa and Sumy."
            )
            sentences.append(sentence)
            odesa, sumy = span(sentence.text, "Odesa", "REGION"), span(sentence.text, "Sumy", "REGION")
            kind = (r + position) % 6
            if kind == 0:
                gold.append(GoldRecord(sentence.id, (GoldSpanRecord(odesa.start_char, odesa.end_char, "REGION"),)))
            elif kind == 1:
                annotations += done(sentence, SpanRecord(odesa.start_char, odesa.end_char - 1, "REGION"))  # misaligned
            elif kind == 2:
                annotations += done(sentence, odesa, SpanRecord(odesa.start_char, sumy.end_char, "REGION"))  # overlap
            elif kind == 3:
                annotations.append(AnnotationRecord(sentence.id, "ana", "skipped"))
            elif kind == 4:
                annotations += done(sentence, odesa, sumy, span(sentence.text, str(position + 2), "COUNT"))
    return sentences, annotations, gold


def batches_of(sentences, annotations, gold, reports_per_batch):
    """The corpus as stream_export's batches, ``reports_per_batch`` reports each, in report order."""
    reports = sorted({s.report_id for s in sentences})
    for i in range(0, len(reports), reports_per_batch):
        chosen = set(reports[i : i + reports_per_batch])
        ids = {s.id for s in sentences if s.report_id in chosen}
        yield (
            [s for s in sentences if s.id in ids],
            [a for a in annotations if a.sentence_id in ids],
            [g for g in gold if g.sentence_id in ids],
        )


def without_created_at(manifest):
    return {k: v for k, v in manifest.items() if k != "created_at"}


@pytest.mark.parametrize("task", ["ner", "spancat"])
@pytest.mark.parametrize("reports_per_batch", [1, 4, 1000])
def test_export_stream_in_batches_writes_what_build_export_writes(nlp, tmp_path, task, reports_per_batch):
    sentences, annotations, gold = mixed_corpus()
    options = dict(project="p", task=task, dev_fraction=0.3, seed=2, agreement={"alpha": 0.5})
    result = build_export(nlp, sentences, annotations, gold, **options)
    expected = write_export(result, tmp_path / "whole")
    seen = []
    path, manifest = stream_export(
        nlp,
        batches_of(sentences, annotations, gold, reports_per_batch),
        tmp_path / "streamed",
        progress=seen.append,
        **options,
    )
    assert seen == list(range(1, len(sentences) + 1))
    assert manifest["misaligned"] and manifest["sentences"]["excluded"]["misaligned span"]
    assert result.manifest["counts"]["dev"]["docs"] > 0
    for name in ("train.spacy", "dev.spacy", "annotations.jsonl", "config.cfg"):
        assert (path / name).read_bytes() == (expected / name).read_bytes(), name
    assert without_created_at(manifest) == without_created_at(result.manifest)
    assert without_created_at(json.loads((path / "manifest.json").read_text(encoding="utf-8"))) == without_created_at(
        result.manifest
    )
    assert sorted(p.name for p in path.iterdir()) == sorted(result.manifest["files"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["streamed", "whole"]  # no temporary left


@pytest.mark.parametrize("task", ["ner", "spancat"])
def test_export_stream_shards_a_large_split_into_a_folder(nlp, tmp_path, task):
    sentences, annotations, gold = mixed_corpus()
    result = build_export(nlp, sentences, annotations, gold, project="p", task=task, dev_fraction=0.3, seed=2)
    n_train, n_dev = len(result.train), len(result.dev)
    assert n_train > 5 >= n_dev > 0
    path, manifest = stream_export(
        nlp,
        batches_of(sentences, annotations, gold, 2),
        tmp_path / "out",
        project="p",
        task=task,
        dev_fraction=0.3,
        seed=2,
        shard_size=5,
    )
    shards = sorted((path / "train.spacy").iterdir())
    assert [p.name for p in shards] == [f"{i:03d}.spacy" for i in range(-(-n_train // 5))]
    assert [len(DocBin().from_disk(p)) for p in shards] == [5] * (n_train // 5) + ([n_train % 5] if n_train % 5 else [])
    assert (path / "dev.spacy").is_file()  # a split that fits one shard stays one file
    assert (path / "dev.spacy").read_bytes() == result.dev.to_bytes()

    vocab = spacy.blank("en").vocab

    def spans_of(doc):
        return [
            (s.start_char, s.end_char, s.text, s.label_, s.kb_id_)
            for s in (doc.ents if task == "ner" else doc.spans["sc"])
        ]

    streamed = [d for p in shards for d in DocBin().from_disk(p).get_docs(vocab)]
    whole = list(result.train.get_docs(vocab))
    assert [(d.text, spans_of(d), d.user_data) for d in streamed] == [(d.text, spans_of(d), d.user_data) for d in whole]
    # spaCy's own corpus reader walks the folder, in shard order.
    read = [example.reference for example in Corpus(path / "train.spacy")(nlp)]
    assert [(d.text, spans_of(d)) for d in read] == [(d.text, spans_of(d)) for d in whole]

    digest = hashlib.sha256(b"".join(p.read_bytes() for p in shards) + (path / "dev.spacy").read_bytes()).hexdigest()
    assert manifest["content_sha256"] == digest
    assert without_created_at(manifest) == {**without_created_at(result.manifest), "content_sha256": digest}


def test_export_stream_rejects_batches_out_of_order_and_writes_nothing(nlp, tmp_path):
    sentences, annotations, gold = mixed_corpus()
    batches = list(batches_of(sentences, annotations, gold, 3))
    with pytest.raises(ValueError, match="report order"):
        stream_export(nlp, [batches[1], batches[0]], tmp_path / "out", project="p")
    assert list(tmp_path.iterdir()) == []


def test_export_stream_refuses_empty_export_and_busy_folder(nlp, tmp_path):
    sentence = SentenceRecord(1, 1, 0, "Drones over Kyiv.")
    with pytest.raises(ExportError, match="nothing to export"):
        stream_export(nlp, [([sentence], [AnnotationRecord(1, "ana", "skipped")], [])], tmp_path / "out", project="p")
    with pytest.raises(ExportError, match="no spans"):
        stream_export(nlp, [([sentence], done(sentence), [])], tmp_path / "out", project="p", labels=["REGION"])
    assert list(tmp_path.iterdir()) == []  # not even the temporary folder
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    consumed = []

    def batches():
        consumed.append(True)
        yield [sentence], done(sentence, span(sentence.text, "Kyiv", "REGION")), []

    with pytest.raises(ExportError, match="--force"):
        stream_export(nlp, batches(), busy, project="p")
    assert not consumed and [p.name for p in tmp_path.iterdir()] == ["busy"]
    with pytest.raises(ValueError, match="shard_size"):
        stream_export(nlp, batches(), tmp_path / "x", project="p", shard_size=0)


def plain_row(doc) -> tuple:
    """The row ``DocBin(store_user_data=True).add`` keeps of ``doc``, in ``files.DocRow``'s shape."""
    docbin = DocBin(store_user_data=True)
    docbin.add(doc)
    return (
        docbin.tokens[0].tobytes(),
        docbin.spaces[0].tobytes(),
        tuple(docbin.strings),
        docbin.cats[0],
        docbin.flags[0]["has_unknown_spaces"],
        docbin.span_groups[0],
        docbin.user_data[0],
    )


class PlainDocRows:
    """What ``files.DocRows`` stands for: spaCy's own ``DocBin.add``."""

    def row(self, doc) -> tuple:
        return plain_row(doc)


def test_export_doc_rows_are_what_docbin_add_keeps(nlp):
    from spacy.tokens import Doc, Span

    from annotator.export.files import DocBinBuilder, DocRows

    docs = []
    for text, spans in TRICKY:
        doc = nlp.make_doc(text)
        found = [(span(text, part, label), value) for part, label, value in spans]
        doc.set_ents([doc.char_span(s.start_char, s.end_char, s.label, kb_id=value or 0) for s, value in found])
        doc.user_data.update(project="p", values={"0:1:X": "é"}, incidents=[])
        docs.append(doc)
    spancat = nlp.make_doc("Two drones don't fly over Kyiv.")
    spancat.spans["sc"] = [Span(spancat, 0, 2, "COUNT", kb_id="2"), Span(spancat, 1, 3, "OUTCOME", span_id="x")]
    tagged = Doc(nlp.vocab, words=["Drones", "fell", "."], spaces=[True, False, False])
    for token, (tag, lemma, morph, dep) in zip(
        tagged,
        [("NNS", "drone", "Number=Plur", "nsubj"), ("VBD", "fall", "Tense=Past", "ROOT"), (".", ".", "", "punct")],
    ):
        token.tag_, token.lemma_, token.dep_ = tag, lemma, dep
        token.set_morph(morph)
    unknown_spaces = Doc(nlp.vocab, words=["a", "b"])
    docs += [spancat, tagged, unknown_spaces, nlp.make_doc(""), nlp.make_doc("  ")]
    rows = DocRows()
    for doc in docs:
        mine, theirs = rows.row(doc), plain_row(doc)
        assert mine[:2] == theirs[:2] and set(mine[2]) == set(theirs[2]) and mine[3:] == theirs[3:], doc.text
    builder = DocBinBuilder()
    plain = DocBin(store_user_data=True)
    for doc in docs:
        builder.add(rows.row(doc))
        plain.add(doc)
    assert builder.build().to_bytes() == plain.to_bytes()


def test_export_user_data_reader_reads_what_msgpack_loads_reads():
    import numpy
    import srsly

    from annotator.export.files import UserDataReader

    values = [
        {"project": "p", "report_id": 3, "sentence_id": 14, "values": {"0:3:COUNT": "3", "4:9:REGION": "Kyiv"}},
        {"incidents": [{"spans": [{"start_char": 0, "end_char": 3, "label": "COUNT"}], "provenance": "é 🚀"}]},
        {},
        {"big": list(range(70_000)), "bytes": b"\x00\xff", "nested": [[1, [2, [3]]]], "float": 0.1, "none": None},
        {"array": numpy.arange(6, dtype=numpy.int32).reshape(2, 3)},  # srsly's numpy decoder, as msgpack_loads
    ]
    read = UserDataReader()
    for value in values * 2:  # the same reader, value after value
        packed = srsly.msgpack_dumps(value)
        mine, theirs = read(packed), srsly.msgpack_loads(packed)
        assert type(mine) is type(theirs) and repr(mine) == repr(theirs)
    packed = srsly.msgpack_dumps(values[0])
    with pytest.raises(ValueError, match="not one msgpack value"):
        read(packed[:-3])  # truncated
    with pytest.raises(ValueError, match="more than one"):
        read(packed + packed)
    assert read(packed) == values[0]  # nothing of the bad ones is left behind


@pytest.mark.parametrize("task", ["ner", "spancat"])
def test_export_shards_read_back_as_a_plain_docbin_loop_writes_them(nlp, tmp_path, monkeypatch, task):
    from annotator.export import files, first_pass

    sentences, annotations, gold = mixed_corpus()
    options = dict(project="p", task=task, dev_fraction=0.3, seed=2, shard_size=5)
    fast, _ = stream_export(nlp, batches_of(sentences, annotations, gold, 3), tmp_path / "fast", **options)
    monkeypatch.setattr(first_pass, "DocRows", PlainDocRows)
    plain, _ = stream_export(nlp, batches_of(sentences, annotations, gold, 3), tmp_path / "plain", **options)

    def docs(path):
        vocab = spacy.blank("en").vocab
        return [d for f in files.split_files(path) for d in DocBin().from_disk(f).get_docs(vocab)]

    def spans_of(doc):
        return [
            (s.start_char, s.end_char, s.text, s.label_, s.kb_id_)
            for s in (doc.ents if task == "ner" else doc.spans["sc"])
        ]

    every = []
    for name in ("train.spacy", "dev.spacy"):
        assert [f.name for f in files.split_files(fast / name)] == [f.name for f in files.split_files(plain / name)]
        got, expected = docs(fast / name), docs(plain / name)
        assert got and len(got) == len(expected)
        assert [(d.text, spans_of(d), d.user_data) for d in got] == [
            (d.text, spans_of(d), d.user_data) for d in expected
        ]
        every += got
        for mine, theirs in zip(files.split_files(fast / name), files.split_files(plain / name)):
            assert mine.read_bytes() == theirs.read_bytes(), mine.name  # byte for byte, not only alike
    assert (fast / "train.spacy").is_dir()  # the shards, not only a single file, were compared
    assert any(s[4] for d in every for s in spans_of(d))  # REGION spans carry their kb_id
    assert any(d.user_data["values"] for d in every) and all(d.user_data["project"] == "p" for d in every)


def test_export_collector_collects_less_often_and_restores_the_thresholds(nlp, tmp_path):
    import gc

    from annotator.export.collector import FULL_THRESHOLD, YOUNG_THRESHOLD, fewer_collections

    before = gc.get_threshold()
    paused = (max(before[0], YOUNG_THRESHOLD), before[1], FULL_THRESHOLD)
    seen = []
    sentences, annotations, gold = mixed_corpus()
    build_export(nlp, sentences, annotations, gold, project="p", progress=lambda n: seen.append(gc.get_threshold()))
    assert seen and set(seen) == {paused} and gc.get_threshold() == before
    seen.clear()
    stream_export(
        nlp,
        batches_of(sentences, annotations, gold, 3),
        tmp_path / "x",
        project="p",
        progress=lambda n: seen.append(gc.get_threshold()),
    )
    assert seen and set(seen) == {paused} and gc.get_threshold() == before
    with pytest.raises(ExportError):  # an export that fails inside the pause
        stream_export(nlp, [([], [], [])], tmp_path / "y", project="p")
    assert gc.get_threshold() == before
    with fewer_collections():  # nested (or concurrent) blocks: the last to leave restores
        with fewer_collections():
            assert gc.get_threshold() == paused
        assert gc.get_threshold() == paused
    assert gc.get_threshold() == before


def test_export_does_not_replace_a_folder_that_appeared_while_it_ran(tmp_path):
    from annotator.export.files import staging

    out = tmp_path / "export"
    with pytest.raises(ExportError, match="exists and is not empty"):
        with staging(out) as tmp:
            (tmp / "manifest.json").write_text("{}")
            out.mkdir()  # another export (or a person) put files there meanwhile
            (out / "notes.txt").write_text("theirs")
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["export"]  # and the staged folder is gone
