"""Export gold spans as spaCy training data.

``build_export`` resolves each sentence's gold (``annotator.export.gold``), aligns
every span to ``nlp.make_doc(sentence.text)`` with ``Doc.char_span(...,
alignment_mode="strict")`` and splits the Docs into train and dev by report;
``write_export`` writes the result (train.spacy, dev.spacy, config.cfg,
manifest.json and annotations.jsonl) atomically. ``stream_export`` does both
for a corpus of any size: it reads the sentences in batches and writes as it
goes, so that memory stays flat, and gives the same files for a split of up
to ``shard_size`` Docs (larger splits become folders of DocBin shards, see
``annotator.export.files``).

A sentence whose gold cannot be represented exactly is **excluded and
listed** in the manifest, never exported with a span missing (a false
negative) or moved: under ``misaligned`` when a span falls outside the
sentence, inside a token, or begins or ends with white space (spaCy cannot
learn such a span); under ``conflicts`` when two spans overlap under ner
(``doc.ents`` cannot hold both; spancat keeps overlaps).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..records import (
    AnnotationRecord,
    GoldRecord,
    GoldSpanRecord,
    SentenceRecord,
)
from .align import (
    align_spans,
    jsonl_line,
    make_docs,
    overlapping_pairs,
    prodigy_record,
    source_kind,
)
from .files import (
    FILES,
    PENDING,
    SHARD_SIZE,
    DocBinBuilder,
    ExportError,
    ShardWriter,
    check_destination,
    content_sha256,
    remove_stale_temporaries,
    staging,
    write_file,
)
from .gold import check_policy, resolve_gold
from .pending import Exported, PendingSentences
from .spacy_config import TASKS, make_config
from .split import SPLITS, dev_reports, grouped_split

if TYPE_CHECKING:  # spaCy loads when an export starts, not with the app
    from spacy.language import Language
    from spacy.tokens import DocBin, Span

__all__ = [
    "FILES",
    "SHARD_SIZE",
    "ExportBatch",
    "ExportError",
    "ExportResult",
    "build_export",
    "grouped_split",
    "remove_stale_temporaries",
    "stream_export",
    "write_export",
]

GOLD_SOURCES = ("adjudicated", "unanimous", "majority", "single annotator", "annotator")
MISALIGNED = "misaligned span"
OVERLAP = "overlapping spans"

Gold = Iterable[GoldRecord] | Mapping[int, GoldRecord]
# (sentences, annotations, gold) of some sentences; see stream_export.
ExportBatch = tuple[Iterable[SentenceRecord], Iterable[AnnotationRecord], Gold]


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


def build_export(
    nlp: Language,
    sentences: Iterable[SentenceRecord],
    annotations: Iterable[AnnotationRecord],
    gold: Gold,
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
    """Build the train/dev DocBins, manifest and Prodigy records of a project, in memory.

    ``annotations`` and ``gold`` may cover more sentences than ``sentences``;
    only those of the given sentences are used. ``labels`` restricts the
    export to those labels (spans of others are counted in the manifest's
    ``dropped_by_label``, and their tokens become O under ner); by default
    the labels are those of the exported spans. ``progress(n_done)`` is
    called after each sentence. Raises ``ValueError`` for an unknown task or
    policy, a dev_fraction outside [0, 1) or a repeated sentence id.
    Memory grows with the corpus (~4 KB a sentence): for a large project use
    ``stream_export``, which writes the same files.
    """
    _check_options(task, policy, dev_fraction)
    lines: list[str] = []
    first = _FirstPass(nlp, task, policy, labels, progress, write_line=lines.append, pending=PendingSentences())
    first.add(sentences, annotations, gold)
    dev_reports = first.dev_reports(dev_fraction, seed)
    builders = {side: DocBinBuilder() for side in SPLITS}
    counts = make_docs(nlp, task, project, first.pending, dev_reports, {side: b.add for side, b in builders.items()})
    train, dev = builders["train"].build(), builders["dev"].build()
    manifest = first.manifest(
        project=project,
        dev_fraction=dev_fraction,
        seed=seed,
        counts=counts,
        content_sha256=hashlib.sha256(train.to_bytes() + dev.to_bytes()).hexdigest(),
        agreement=agreement,
    )
    return ExportResult(train, dev, manifest, lines, first.config())


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
    counts = result.manifest["counts"]
    _refuse_empty(
        result.n_docs,
        counts["train"]["spans"] + counts["dev"]["spans"],
        result.config is not None,
        result.manifest["policy"],
        result.manifest["sentences"]["excluded"],
    )
    out_dir = check_destination(out_dir, force)
    with staging(out_dir) as tmp:
        write_file(tmp / "train.spacy", result.train.to_bytes())
        write_file(tmp / "dev.spacy", result.dev.to_bytes())
        assert result.config is not None  # _refuse_empty refused an export without labels
        write_file(tmp / "config.cfg", result.config.encode("utf-8"))
        write_file(tmp / "manifest.json", _manifest_bytes(result.manifest))
        write_file(tmp / "annotations.jsonl", "".join(result.prodigy_lines).encode("utf-8"))
    return out_dir


def stream_export(
    nlp: Language,
    batches: Iterable[ExportBatch],
    out_dir: str | os.PathLike[str],
    *,
    project: str,
    task: str = "ner",
    policy: str = "majority",
    dev_fraction: float = 0.2,
    seed: int = 0,
    labels: Sequence[str] | None = None,
    agreement: Mapping[str, Any] | Callable[[], Mapping[str, Any]] | None = None,
    status: Mapping[str, Any] | None = None,
    progress: Callable[[int], None] | None = None,
    force: bool = False,
    shard_size: int = SHARD_SIZE,
) -> tuple[Path, dict[str, Any]]:
    """Export batch by batch into ``out_dir`` atomically; return the path and the manifest.

    ``batches`` yields ``(sentences, annotations, gold)`` as ``build_export``
    takes them, read once, in report order: every sentence of a batch comes
    after those of the batches before it in (report_id, position, id)
    order, and each sentence's annotations and gold come in its batch.
    Memory is one batch plus two shards of ``shard_size`` Docs, whatever the
    corpus size (the manifest's lists of misaligned and conflicting spans
    aside). A split of at most ``shard_size`` Docs is one DocBin file,
    byte for byte the file ``write_export(build_export(...))`` writes, and
    the manifest is the same but for ``created_at``; a larger split is a
    folder of shards (``train.spacy/000.spacy``, ...); ``content_sha256``
    covers the DocBin files in order, train first. ``agreement`` may be a
    callable, called after the last batch; ``status`` (the project's counts
    of done, flagged, skipped and complete) is written as given. The first pass resolves, aligns,
    writes annotations.jsonl and spills the exported sentences to a file
    in the temporary folder; the split is made from the exported sentences
    per report; the second pass makes the Docs again into the shards.

    Raises ``ValueError`` (before writing) for an unknown task or policy, a
    dev_fraction outside [0, 1), a shard_size below 1, or batches out of
    order; ``ExportError`` as ``write_export`` does, with nothing written.
    """
    _check_options(task, policy, dev_fraction)
    if shard_size < 1:
        raise ValueError(f"shard_size must be at least 1, not {shard_size}")
    out_dir = check_destination(out_dir, force)
    with staging(out_dir) as tmp:
        with open(tmp / "annotations.jsonl", "w", encoding="utf-8", newline="") as jsonl:
            with PendingSentences(tmp / PENDING) as pending:
                first = _FirstPass(nlp, task, policy, labels, progress, write_line=jsonl.write, pending=pending)
                for batch in batches:
                    first.add(*batch)
                jsonl.flush()
                os.fsync(jsonl.fileno())
                _refuse_empty(first.n_exported, first.n_spans, bool(first.label_list()), policy, first.excluded)
                dev_reports = first.dev_reports(dev_fraction, seed)
                n_dev = first.docs_of(dev_reports)
                sizes = {"train": first.n_exported - n_dev, "dev": n_dev}
                writers = {
                    side: ShardWriter(tmp / f"{side}.spacy", sizes[side] > shard_size, shard_size, sizes[side])
                    for side in SPLITS
                }
                counts = make_docs(
                    nlp, task, project, pending, dev_reports, {side: w.add for side, w in writers.items()}
                )
                files = writers["train"].close() + writers["dev"].close()
        (tmp / PENDING).unlink()
        if callable(agreement):
            agreement = agreement()
        manifest = first.manifest(
            project=project,
            dev_fraction=dev_fraction,
            seed=seed,
            counts=counts,
            content_sha256=content_sha256(files),
            agreement=agreement,
            status=status,
        )
        config = first.config()
        assert config is not None  # _refuse_empty refused an export without labels
        write_file(tmp / "config.cfg", config.encode("utf-8"))
        write_file(tmp / "manifest.json", _manifest_bytes(manifest))
    return out_dir, manifest


def _check_options(task: str, policy: str, dev_fraction: float) -> None:
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}: use one of {', '.join(TASKS)}")
    check_policy(policy)
    if not 0 <= dev_fraction < 1:
        raise ValueError(f"dev_fraction must be in [0, 1), not {dev_fraction}")


def _refuse_empty(n_docs: int, n_spans: int, has_labels: bool, policy: str, excluded: Mapping[str, int]) -> None:
    if n_docs == 0:
        raise ExportError(
            f"nothing to export: no sentence has usable gold under policy "
            f"{policy!r} (excluded: {dict(sorted(excluded.items()))}); "
            "annotate or adjudicate more sentences, or choose another policy"
        )
    if not has_labels or n_spans == 0:
        raise ExportError("nothing to train: the exported sentences have no spans; annotate some spans first")


def _manifest_bytes(manifest: Mapping[str, Any]) -> bytes:
    return (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


class _FirstPass:
    """Resolves, aligns and checks each sentence, writes its Prodigy line, and keeps counts.

    What it keeps grows with reports (two integers each) and problems, not
    with sentences; the exported sentences go to ``pending``.
    """

    def __init__(
        self,
        nlp: Language,
        task: str,
        policy: str,
        labels: Sequence[str] | None,
        progress: Callable[[int], None] | None,
        *,
        write_line: Callable[[str], Any],
        pending: PendingSentences,
    ) -> None:
        """The export's own options, as ``build_export`` takes them; where the Prodigy lines and sentences go."""
        self.nlp, self.task, self.policy, self.progress = nlp, task, policy, progress
        self.labels = list(labels) if labels is not None else None
        self.keep = set(labels) if labels is not None else None
        self.write_line, self.pending = write_line, pending
        self.n_done = self.n_exported = self.n_spans = 0
        self.by_source = Counter({source: 0 for source in GOLD_SOURCES})
        self.excluded: Counter[str] = Counter()
        self.dropped: Counter[str] = Counter()
        self.misaligned: list[dict[str, Any]] = []
        self.conflicts: list[dict[str, Any]] = []
        self.span_labels: set[str] = set()
        self.max_span_tokens = 1
        self.reports = array("q")  # reports with exported sentences, in id order,
        self.report_sizes = array("q")  # and how many each
        self._last: tuple[int, int, int] | None = None

    def add(self, sentences: Iterable[SentenceRecord], annotations: Iterable[AnnotationRecord], gold: Gold) -> None:
        by_sentence: dict[int, list[AnnotationRecord]] = defaultdict(list)
        for annotation in annotations:
            by_sentence[annotation.sentence_id].append(annotation)
        gold_records = gold.values() if isinstance(gold, Mapping) else gold
        gold_by_sentence = {g.sentence_id: g for g in gold_records}
        ordered = sorted(sentences, key=lambda s: (s.report_id, s.position, s.id))
        if len({s.id for s in ordered}) != len(ordered):
            raise ValueError("a sentence id appears twice in the export's sentences")
        if (
            ordered
            and self._last is not None
            and (ordered[0].report_id, ordered[0].position, ordered[0].id) <= self._last
        ):
            raise ValueError(
                "export batches must come in report order: a batch starts before the end of the one before it"
            )
        exported: list[Exported] = []
        for sentence in ordered:
            sentence_annotations = by_sentence.get(sentence.id, [])
            sentence_gold = gold_by_sentence.get(sentence.id)
            resolution = resolve_gold(sentence, sentence_annotations, sentence_gold, self.policy)
            doc = self.nlp.make_doc(sentence.text)
            spans = [s for s in resolution.spans if self.keep is None or s.label in self.keep]
            self.dropped.update(s.label for s in resolution.spans if self.keep is not None and s.label not in self.keep)
            reason = resolution.excluded
            if reason is None:
                aligned, problems = align_spans(doc, sentence, spans)
                self.misaligned.extend(problems)
                overlaps = overlapping_pairs(sentence, spans) if self.task == "ner" else []
                self.conflicts.extend(overlaps)
                reason = MISALIGNED if problems else OVERLAP if overlaps else None
                if reason is None:
                    exported.append(
                        (
                            dataclasses.replace(sentence, tokens=()) if sentence.tokens else sentence,
                            spans,
                            resolution.source,
                        )
                    )
                    self._count_exported(sentence.report_id, aligned, resolution.source)
            if reason is not None:
                self.excluded[reason] += 1
            if sentence_annotations or sentence_gold is not None:
                self.write_line(
                    jsonl_line(prodigy_record(doc, sentence, sentence_annotations, spans, resolution, reason))
                )
            self.n_done += 1
            if self.progress is not None:
                self.progress(self.n_done)
        if ordered:
            self._last = (ordered[-1].report_id, ordered[-1].position, ordered[-1].id)
        self.pending.add(exported)

    def _count_exported(
        self, report_id: int, aligned: Sequence[tuple[GoldSpanRecord, Span]], source: str | None
    ) -> None:
        self.n_exported += 1
        self.n_spans += len(aligned)
        for _, token_span in aligned:
            self.span_labels.add(token_span.label_)
            self.max_span_tokens = max(self.max_span_tokens, len(token_span))
        if self.reports and self.reports[-1] == report_id:
            self.report_sizes[-1] += 1
        else:
            self.reports.append(report_id)
            self.report_sizes.append(1)
        self.by_source[source_kind(source)] += 1

    def dev_reports(self, dev_fraction: float, seed: int) -> set[int]:
        return dev_reports(self.reports, self.report_sizes, dev_fraction, seed)

    def docs_of(self, reports: set[int]) -> int:
        return sum(size for report, size in zip(self.reports, self.report_sizes) if report in reports)

    def label_list(self) -> list[str]:
        return self.labels if self.labels is not None else sorted(self.span_labels)

    def config(self) -> str | None:
        labels = self.label_list()
        return make_config(self.task, labels, self.nlp.lang, self.max_span_tokens) if labels else None  # type: ignore[arg-type]  # a pipeline always has a lang

    def manifest(
        self,
        *,
        project: str,
        dev_fraction: float,
        seed: int,
        counts: dict[str, Any],
        content_sha256: str,
        agreement: Mapping[str, Any] | None,
        status: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        import spacy

        return {
            "project": project,
            "task": self.task,
            "policy": self.policy,
            "seed": seed,
            "dev_fraction": dev_fraction,
            "spacy_version": spacy.__version__,
            "lang": self.nlp.lang,
            "labels": self.label_list(),
            "max_span_tokens": self.max_span_tokens,
            "counts": counts,
            "sentences": {
                "total": self.n_done,
                "exported": self.n_exported,
                "by_gold_source": dict(self.by_source),
                "excluded": dict(sorted(self.excluded.items())),
            },
            "dropped_by_label": dict(sorted(self.dropped.items())),
            "misaligned": self.misaligned,
            "conflicts": self.conflicts,
            "content_sha256": content_sha256,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "agreement": dict(agreement) if agreement is not None else None,
            "status": dict(status) if status is not None else None,
            "files": list(FILES),
        }
