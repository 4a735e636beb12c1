"""Export gold spans as spaCy training data.

``build_export`` resolves each sentence's gold (``annotator.gold``), aligns
every span to ``nlp.make_doc(sentence.text)`` with ``Doc.char_span(...,
alignment_mode="strict")`` and splits the Docs into train and dev by report;
``write_export`` writes train.spacy, dev.spacy, config.cfg, manifest.json and
annotations.jsonl (Prodigy records) atomically.

A sentence whose gold cannot be represented exactly is **excluded and
listed** in the manifest, never exported with a span missing (a false
negative) or moved: under ``misaligned`` when a span falls outside the
sentence, inside a token, or begins or ends with white space (spaCy cannot
learn such a span); under ``conflicts`` when two spans overlap under ner
(``doc.ents`` cannot hold both; spancat keeps overlaps).
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import tempfile
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import spacy
import srsly
from spacy.language import Language
from spacy.tokens import Doc, DocBin, Span

from .gold import ANNOTATOR_PREFIX, Resolution, check_policy, resolve_gold
from .records import AnnotationRecord, GoldRecord, GoldSpanRecord, SentenceRecord, SpanRecord
from .spacy_config import SPANS_KEY, TASKS, make_config

GOLD_SOURCES = ("adjudicated", "unanimous", "majority", "annotator")
MISALIGNED = "misaligned span"
CONFLICT = "overlapping spans"
FILES = ("train.spacy", "dev.spacy", "config.cfg", "manifest.json", "annotations.jsonl")


class ExportError(Exception):
    """An export that cannot be written; the message says what to do."""


@dataclass
class ExportResult:
    """Everything an export writes, in memory. ``config`` is None without labels."""

    train: DocBin
    dev: DocBin
    manifest: dict[str, Any]
    # annotations.jsonl, one line per record: a dict per token would take ~5x the memory.
    prodigy_lines: list[str]
    config: str | None

    @property
    def n_docs(self) -> int:
        return len(self.train) + len(self.dev)

    @property
    def prodigy_records(self) -> list[dict[str, Any]]:
        """The Prodigy records of annotations.jsonl, parsed (a new list each time)."""
        return [json.loads(line) for line in self.prodigy_lines]


def grouped_split(
    sentence_ids_by_report: Mapping[int, Sequence[int]], dev_fraction: float, seed: int
) -> tuple[list[int], list[int]]:
    """Split sentence ids into (train, dev) so that no report is in both.

    Dev gets the set of whole reports whose sentence count is closest to
    ``dev_fraction`` of all sentences (an exact subset-sum, ties to the
    smaller dev); among equally good sets, the reports that come first after
    shuffling with ``random.Random(seed)``. With ``dev_fraction > 0`` and two
    reports or more, both sides get at least one report. Ids keep their order
    within a report; reports go in id order. Memory is about reports x dev
    sentences bits. Raises ``ValueError`` unless ``0 <= dev_fraction < 1``.
    """
    if not 0 <= dev_fraction < 1:
        raise ValueError(f"dev_fraction must be in [0, 1), not {dev_fraction}")
    reports = [r for r in sorted(sentence_ids_by_report) if sentence_ids_by_report[r]]
    random.Random(seed).shuffle(reports)
    sizes = [len(sentence_ids_by_report[r]) for r in reports]
    total, target = sum(sizes), dev_fraction * sum(sizes)
    both_sides = dev_fraction > 0 and len(reports) >= 2
    limit = max(int(2 * target) + 1, min(sizes, default=0))  # above 2*target, 0 is closer
    # Bit s of reachable[k]: some subset of the first k reports has s sentences.
    reachable = [1]
    for size in sizes:
        reachable.append((reachable[-1] | reachable[-1] << size) & ((1 << limit + 1) - 1))
    best = min(
        (s for s in range(limit + 1) if reachable[-1] >> s & 1 and (not both_sides or 0 < s < total)),
        key=lambda s: (abs(s - target), s),
    )
    dev = set()
    for k in range(len(reports), 0, -1):  # skip a report whenever the rest reach the sum
        if not reachable[k - 1] >> best & 1:
            dev.add(reports[k - 1])
            best -= sizes[k - 1]
    ordered = sorted(reports)
    train_ids = [i for r in ordered if r not in dev for i in sentence_ids_by_report[r]]
    dev_ids = [i for r in ordered if r in dev for i in sentence_ids_by_report[r]]
    return train_ids, dev_ids


def build_export(
    nlp: Language,
    sentences: Iterable[SentenceRecord],
    annotations: Iterable[AnnotationRecord],
    gold: Iterable[GoldRecord] | Mapping[int, GoldRecord],
    *,
    project: str,
    task: str = "ner",
    policy: str = "majority",
    dev_fraction: float = 0.2,
    seed: int = 0,
    labels: Sequence[str] | None = None,
    agreement: Mapping[str, Any] | None = None,
    progress: Callable[[int], None] | None = None,
) -> ExportResult:
    """Build the train/dev DocBins, manifest and Prodigy records of a project.

    ``annotations`` and ``gold`` may cover more sentences than ``sentences``;
    only those of the given sentences are used. ``labels`` restricts the
    export to those labels (spans of others are counted in the manifest's
    ``dropped_by_label``, and their tokens become O under ner); by default
    the labels are those of the exported spans. ``progress(n_done)`` is
    called after each sentence. Raises ``ValueError`` for an unknown task or
    policy, a dev_fraction outside [0, 1) or a repeated sentence id.
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}: use one of {', '.join(TASKS)}")
    check_policy(policy)
    if not 0 <= dev_fraction < 1:
        raise ValueError(f"dev_fraction must be in [0, 1), not {dev_fraction}")
    keep = set(labels) if labels is not None else None
    by_sentence: dict[int, list[AnnotationRecord]] = defaultdict(list)
    for annotation in annotations:
        by_sentence[annotation.sentence_id].append(annotation)
    gold_records = gold.values() if isinstance(gold, Mapping) else gold
    gold_by_sentence = {g.sentence_id: g for g in gold_records}
    ordered = sorted(sentences, key=lambda s: (s.report_id, s.position, s.id))
    if len({s.id for s in ordered}) != len(ordered):
        raise ValueError("a sentence id appears twice in the export's sentences")

    # What a Doc needs to be made again (pass 2) and the (label, tokens) of its spans.
    exported: dict[int, tuple[SentenceRecord, list[GoldSpanRecord], str | None]] = {}
    shapes: dict[int, tuple[tuple[str, int], ...]] = {}
    report_sentences: dict[int, list[int]] = defaultdict(list)
    by_source = Counter({source: 0 for source in GOLD_SOURCES})
    excluded: Counter[str] = Counter()
    dropped: Counter[str] = Counter()
    misaligned: list[dict[str, Any]] = []
    conflicts: list[dict[str, Any]] = []
    records: list[str] = []
    for n_done, sentence in enumerate(ordered, start=1):
        sentence_annotations = by_sentence.get(sentence.id, [])
        sentence_gold = gold_by_sentence.get(sentence.id)
        resolution = resolve_gold(sentence, sentence_annotations, sentence_gold, policy)
        doc = nlp.make_doc(sentence.text)
        spans = [s for s in resolution.spans if keep is None or s.label in keep]
        dropped.update(s.label for s in resolution.spans if keep is not None and s.label not in keep)
        reason = resolution.excluded
        if reason is None:
            aligned, problems = _align(doc, sentence, spans)
            misaligned.extend(problems)
            overlaps = _overlaps(sentence, spans) if task == "ner" else []
            conflicts.extend(overlaps)
            reason = MISALIGNED if problems else CONFLICT if overlaps else None
            if reason is None:
                exported[sentence.id] = (sentence, spans, resolution.source)
                shapes[sentence.id] = tuple((token_span.label_, len(token_span)) for _, token_span in aligned)
                report_sentences[sentence.report_id].append(sentence.id)
                by_source[_source_kind(resolution.source)] += 1
        if reason is not None:
            excluded[reason] += 1
        if sentence_annotations or sentence_gold is not None:
            records.append(_jsonl_line(_prodigy_record(doc, sentence, sentence_annotations, spans, resolution, reason)))
        if progress is not None:
            progress(n_done)

    train_ids, dev_ids = grouped_split(report_sentences, dev_fraction, seed)

    def made_again(ids: Sequence[int]) -> Iterable[Doc]:
        # Made again rather than kept from the loop above: a Doc takes ~5 KB, its
        # DocBin row ~2 KB, so peak memory drops by more than half for ~10% more time
        # (tests/benchmarks/bench_memory.py). Tokenising and aligning are deterministic.
        for i in ids:
            sentence, spans, source = exported[i]
            doc = nlp.make_doc(sentence.text)
            aligned, _ = _align(doc, sentence, spans)
            yield _annotate(doc, task, aligned, project=project, report_id=sentence.report_id, sentence_id=i, gold_source=source)

    train = _docbin(made_again(train_ids))
    dev = _docbin(made_again(dev_ids))
    label_list = list(labels) if labels is not None else sorted(
        {label for spans in shapes.values() for label, _ in spans}
    )
    max_span_tokens = max((length for spans in shapes.values() for _, length in spans), default=1)
    config = make_config(task, label_list, nlp.lang, max_span_tokens) if label_list else None
    manifest = {
        "project": project,
        "task": task,
        "policy": policy,
        "seed": seed,
        "dev_fraction": dev_fraction,
        "spacy_version": spacy.__version__,
        "lang": nlp.lang,
        "labels": label_list,
        "max_span_tokens": max_span_tokens,
        "counts": {
            "train": _split_counts([shapes[i] for i in train_ids]),
            "dev": _split_counts([shapes[i] for i in dev_ids]),
        },
        "sentences": {
            "total": len(ordered),
            "exported": len(exported),
            "by_gold_source": dict(by_source),
            "excluded": dict(sorted(excluded.items())),
        },
        "dropped_by_label": dict(sorted(dropped.items())),
        "misaligned": misaligned,
        "conflicts": conflicts,
        "content_sha256": hashlib.sha256(train.to_bytes() + dev.to_bytes()).hexdigest(),
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "agreement": dict(agreement) if agreement is not None else None,
        "files": list(FILES),
    }
    return ExportResult(train, dev, manifest, records, config)


def write_export(result: ExportResult, out_dir: str | os.PathLike[str], force: bool = False) -> Path:
    """Write ``result`` into ``out_dir`` atomically and return its path.

    Everything goes into a temporary directory beside ``out_dir`` (same file
    system), is fsynced, then renamed into place: a reader sees the old
    export or the new one, never a mix. Raises ``ExportError``, writing
    nothing, when the export has no documents or no spans, or when
    ``out_dir`` is a non-empty directory and ``force`` is false; with
    ``force`` the old directory is renamed aside, the new one renamed in and
    the old one removed.
    """
    out_dir = Path(out_dir).absolute()
    if result.n_docs == 0:
        raise ExportError(
            f"nothing to export: no sentence has usable gold under policy "
            f"{result.manifest['policy']!r} (excluded: {result.manifest['sentences']['excluded']}); "
            "annotate or adjudicate more sentences, or choose another policy"
        )
    counts = result.manifest["counts"]
    if result.config is None or counts["train"]["spans"] + counts["dev"]["spans"] == 0:
        raise ExportError("nothing to train: the exported sentences have no spans; annotate some spans first")
    if out_dir.is_symlink() or (out_dir.exists() and not out_dir.is_dir()):
        raise ExportError(f"{out_dir} exists and is not a directory; choose another output path")
    if out_dir.exists() and any(out_dir.iterdir()) and not force:
        raise ExportError(f"{out_dir} exists and is not empty; use --force to replace it")

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out_dir.parent)
    # The writer's pid in the name tells a later export whether this one is still running.
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.{os.getpid()}.", suffix=".tmp", dir=out_dir.parent))
    try:
        os.chmod(tmp, 0o755)
        _write_file(tmp / "train.spacy", result.train.to_bytes())
        _write_file(tmp / "dev.spacy", result.dev.to_bytes())
        _write_file(tmp / "config.cfg", result.config.encode("utf-8"))
        manifest = json.dumps(result.manifest, indent=2, ensure_ascii=False) + "\n"
        _write_file(tmp / "manifest.json", manifest.encode("utf-8"))
        lines = "".join(result.prodigy_lines)
        _write_file(tmp / "annotations.jsonl", lines.encode("utf-8"))
        _fsync_dir(tmp)
        _swap_in(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(out_dir.parent)
    return out_dir


def _align(
    doc: Doc, sentence: SentenceRecord, spans: Sequence[GoldSpanRecord]
) -> tuple[list[tuple[GoldSpanRecord, Span]], list[dict[str, Any]]]:
    """Strictly aligned spans, and a problem entry for each span that is not."""
    aligned, problems = [], []
    text = sentence.text
    for span in spans:
        start, end = span.start_char, span.end_char
        in_range = 0 <= start < end <= len(text)
        problem = None
        if not in_range:
            problem = "offsets outside the sentence"
        elif text[start].isspace() or text[end - 1].isspace():
            problem = "white space at the edge of the span"
        else:
            kb_id = span.value if span.label == "REGION" and span.value else 0
            token_span = doc.char_span(start, end, span.label, kb_id=kb_id, alignment_mode="strict")
            if token_span is None:
                problem = "not on token boundaries"
            else:
                aligned.append((span, token_span))
        if problem is not None:
            expanded = doc.char_span(start, end, alignment_mode="expand") if in_range else None
            problems.append({
                "sentence_id": sentence.id, "report_id": sentence.report_id, "span": _span_dict(span),
                "text": text[start:end], "problem": problem,
                "tokens": [t.text for t in expanded] if expanded is not None else [],  # what it straddles
            })
    return aligned, problems


def _overlaps(sentence: SentenceRecord, spans: Sequence[GoldSpanRecord]) -> list[dict[str, Any]]:
    """Every pair of overlapping spans (char offsets), as a conflict entry."""
    found = []
    ordered = sorted(spans, key=lambda s: (s.start_char, s.end_char, s.label))
    for i, first in enumerate(ordered):
        for second in ordered[i + 1:]:
            if second.start_char >= first.end_char:
                break
            pair = [{**_span_dict(s), "text": sentence.text[s.start_char:s.end_char]} for s in (first, second)]
            found.append({"sentence_id": sentence.id, "report_id": sentence.report_id, "spans": pair})
    return found


def _annotate(doc: Doc, task: str, aligned: Sequence[tuple[GoldSpanRecord, Span]], **user_data) -> Doc:
    token_spans = [token_span for _, token_span in aligned]
    if task == "ner":  # tokens outside every span are "O" (known outside), not missing
        doc.set_ents(token_spans, default="outside")
    else:
        doc.spans[SPANS_KEY] = token_spans
    values = {f"{s.start_char}:{s.end_char}:{s.label}": s.value for s, _ in aligned if s.value is not None}
    doc.user_data.update(user_data, values=values)
    return doc


def _docbin(docs: Iterable[Doc]) -> DocBin:
    """``DocBin(store_user_data=True, docs=docs)``, byte for byte, in a fraction of the time.

    ``DocBin.add`` packs each Doc's user data with ``srsly.msgpack_dumps``,
    which looks its encoders up in catalogue (scanning installed packages'
    entry points) on every call: about 0.6 ms per Doc, most of an export's
    time (tests/benchmarks/bench_export.py). One Packer serves all Docs here.
    """
    docbin = DocBin(store_user_data=False)
    packer = srsly.msgpack.Packer(use_bin_type=True)  # what msgpack_dumps builds per call
    user_data = []
    for doc in docs:
        docbin.add(doc)
        user_data.append(packer.pack(doc.user_data))
    docbin.store_user_data = True
    docbin.user_data = user_data
    return docbin


def _split_counts(span_lists: Sequence[Sequence[tuple[str, int]]]) -> dict[str, Any]:
    """Docs, spans and spans per label of one side, from each doc's (label, tokens) pairs."""
    labels = Counter(label for spans in span_lists for label, _ in spans)
    return {"docs": len(span_lists), "spans": sum(labels.values()), "labels": dict(sorted(labels.items()))}


def _source_kind(source: str | None) -> str:
    return "annotator" if source and source.startswith(ANNOTATOR_PREFIX) else str(source)


def _prodigy_record(
    doc: Doc, sentence: SentenceRecord, annotations: Sequence[AnnotationRecord],
    spans: Sequence[GoldSpanRecord], resolution: Resolution, excluded: str | None,
) -> dict[str, Any]:
    """A Prodigy task: tokens, gold spans (token_end inclusive), each annotator's spans.

    Exported sentences are answered "accept"; excluded ones "ignore", so that
    Prodigy's training recipes do not learn them as negatives.
    """
    meta: dict[str, Any] = {"sentence_id": sentence.id, "report_id": sentence.report_id}
    meta.update({"gold_source": resolution.source} if excluded is None else {"excluded": excluded})
    return {
        "text": sentence.text,
        "tokens": [
            {"text": t.text, "start": t.idx, "end": t.idx + len(t.text), "id": t.i, "ws": bool(t.whitespace_)}
            for t in doc
        ],
        "spans": [_prodigy_span(doc, s) for s in spans],
        "meta": meta,
        "answer": "accept" if excluded is None else "ignore",
        "_annotators": {
            a.annotator: {"status": a.status, "spans": [_prodigy_span(doc, s) for s in a.spans]}
            for a in sorted(annotations, key=lambda a: a.annotator)
        },
    }


def _prodigy_span(doc: Doc, span: SpanRecord | GoldSpanRecord) -> dict[str, Any]:
    """A Prodigy span; token indices only where the span aligns strictly."""
    out: dict[str, Any] = {"start": span.start_char, "end": span.end_char, "label": span.label}
    if 0 <= span.start_char < span.end_char <= len(doc.text):
        token_span = doc.char_span(span.start_char, span.end_char, alignment_mode="strict")
        if token_span is not None:
            out["token_start"], out["token_end"] = token_span.start, token_span.end - 1
    if span.value is not None:
        out["value"] = span.value
    return out


def _span_dict(span: GoldSpanRecord) -> dict[str, Any]:
    return {"start_char": span.start_char, "end_char": span.end_char, "label": span.label}


def _jsonl_line(record: dict[str, Any]) -> str:
    # Escape the line separators that str.splitlines() would break a line on.
    line = json.dumps(record, ensure_ascii=False)
    for char in ("\u2028", "\u2029", "\x85"):
        line = line.replace(char, f"\\u{ord(char):04x}")
    return line + "\n"


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.(?:[a-z0-9_]{8}\.tmp|[0-9a-f]{32}\.old)$")


def remove_stale_temporaries(folder: str | os.PathLike[str]) -> list[Path]:
    """Clean up after exports into ``folder`` whose process died; returns what was touched.

    A killed export leaves ``.<name>.<pid>.<random>.tmp`` (never ``<name>``
    itself, which appears only by rename); a kill while replacing with
    ``force`` may leave the previous export as ``.<name>.<pid>.<hex>.old``.
    Such folders of a dead pid holding nothing but export files are removed,
    except an ``.old`` whose ``<name>`` is missing: that is the previous
    export, and it is renamed back. Those of a live process are left alone.
    """
    folder = Path(folder)
    touched = []
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return touched
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if match is None or not entry.is_dir(follow_symlinks=False) or _alive(int(match["pid"])):
            continue
        path = Path(entry.path)
        try:
            if not {p.name for p in path.iterdir()} <= set(FILES):
                continue  # not ours: leave it
        except FileNotFoundError:
            continue
        final = folder / match["name"]
        if entry.name.endswith(".old") and not final.exists():
            os.rename(path, final)
        else:
            shutil.rmtree(path, ignore_errors=True)
        touched.append(path)
    return touched


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def _swap_in(tmp: Path, out_dir: Path) -> None:
    """Rename ``tmp`` to ``out_dir``, moving an existing ``out_dir`` aside first."""
    if not out_dir.exists():
        try:
            os.rename(tmp, out_dir)
        except OSError as error:
            raise ExportError(f"{out_dir} appeared while exporting; nothing was written") from error
        return
    old = out_dir.parent / f".{out_dir.name}.{os.getpid()}.{uuid.uuid4().hex}.old"
    os.rename(out_dir, old)
    try:
        os.rename(tmp, out_dir)
    except BaseException:
        os.rename(old, out_dir)
        raise
    shutil.rmtree(old)
