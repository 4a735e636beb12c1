"""Export gold spans as spaCy training data.

``build_export`` resolves each sentence's gold (``annotator.export.gold``), aligns
every span to ``nlp.make_doc(sentence.text)`` with ``Doc.char_span(...,
alignment_mode="strict")`` and splits the Docs into train and dev by report;
``write_export`` writes the result (train.spacy, dev.spacy, config.cfg,
manifest.json, annotations.jsonl and the incident table, incidents.csv and
incidents.jsonl: ``annotator.incidents.table``) atomically. ``stream_export`` does both
for a corpus of any size: it reads the sentences in batches and writes as it
goes, so that memory stays flat, and gives the same files for a split of up
to ``shard_size`` Docs (larger splits become folders of DocBin shards, see
``annotator.export.files``). Both run in two passes: the first resolves, aligns,
tallies and makes each exported sentence's Doc into its DocBin row
(``annotator.export.first_pass``), the second hands the rows to train and dev
(``annotator.export.align.split_rows``).

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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..incidents.table import csv_header, csv_line, jsonl_row
from ..records import AnnotationRecord, SentenceRecord
from .align import split_rows
from .collector import fewer_collections
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
from .first_pass import FirstPass, Gold
from .gold import check_policy
from .pending import PendingSentences
from .spacy_config import TASKS
from .split import SPLITS, grouped_split

if TYPE_CHECKING:  # spaCy loads when an export starts, not with the app
    from spacy.language import Language
    from spacy.tokens import DocBin

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
    incident_rows: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # incidents.csv / .jsonl

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
    report_numbers: Mapping[int, int] | None = None,
) -> ExportResult:
    """Build the train/dev DocBins, manifest and Prodigy records of a project, in memory.

    ``annotations`` and ``gold`` may cover more sentences than ``sentences``;
    only those of the given sentences are used. ``labels`` restricts the
    export to those labels (spans of others are counted in the manifest's
    ``dropped_by_label``, and their tokens become O under ner); by default
    the labels are those of the exported spans. ``progress(n_done)`` is
    called after each sentence; ``report_numbers`` (report id -> its number in the project) names the
    reports of the incident table (default: their ids). Raises ``ValueError`` for an unknown task or
    policy, a dev_fraction outside [0, 1) or a repeated sentence id.
    Memory grows with the corpus (~4 KB a sentence): for a large project use
    ``stream_export``, which writes the same files.
    """
    _check_options(task, policy, dev_fraction)
    with fewer_collections():
        lines: list[str] = []
        rows: list[dict[str, Any]] = []
        first = FirstPass(
            nlp,
            task,
            policy,
            labels,
            progress,
            project=project,
            write_line=lines.append,
            pending=PendingSentences(),
            write_incident=rows.append,
            report_numbers=report_numbers,
        )
        first.add(sentences, annotations, gold)
        dev_reports = first.dev_reports(dev_fraction, seed)
        builders = {side: DocBinBuilder() for side in SPLITS}
        counts = split_rows(first.pending, dev_reports, {side: b.add for side, b in builders.items()})
        train, dev = builders["train"].build(), builders["dev"].build()
        manifest = first.manifest(
            project=project,
            dev_fraction=dev_fraction,
            seed=seed,
            counts=counts,
            content_sha256=hashlib.sha256(train.to_bytes() + dev.to_bytes()).hexdigest(),
            agreement=agreement,
        )
        return ExportResult(train, dev, manifest, lines, first.config(), rows)


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
    with staging(out_dir, force) as tmp:
        write_file(tmp / "train.spacy", result.train.to_bytes())
        write_file(tmp / "dev.spacy", result.dev.to_bytes())
        assert result.config is not None  # _refuse_empty refused an export without labels
        write_file(tmp / "config.cfg", result.config.encode("utf-8"))
        write_file(tmp / "manifest.json", _manifest_bytes(result.manifest))
        write_file(tmp / "annotations.jsonl", "".join(result.prodigy_lines).encode("utf-8"))
        write_file(tmp / "incidents.csv", "".join([csv_header(), *map(csv_line, result.incident_rows)]).encode("utf-8"))
        write_file(tmp / "incidents.jsonl", "".join(map(jsonl_row, result.incident_rows)).encode("utf-8"))
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
    report_numbers: Mapping[int, int] | None = None,
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
    of done, flagged, skipped and complete) is written as given; ``report_numbers``
    as ``build_export`` takes it. The first pass resolves, aligns,
    writes annotations.jsonl and spills the exported sentences' DocBin rows to a file
    in the temporary folder; the split is made from the exported sentences
    per report; the second pass reads the rows back into the shards.

    Raises ``ValueError`` (before writing) for an unknown task or policy, a
    dev_fraction outside [0, 1), a shard_size below 1, or batches out of
    order; ``ExportError`` as ``write_export`` does, with nothing written.
    """
    _check_options(task, policy, dev_fraction)
    if shard_size < 1:
        raise ValueError(f"shard_size must be at least 1, not {shard_size}")
    out_dir = check_destination(out_dir, force)
    with fewer_collections(), staging(out_dir, force) as tmp:
        with (
            open(tmp / "annotations.jsonl", "w", encoding="utf-8", newline="") as jsonl,
            open(tmp / "incidents.csv", "w", encoding="utf-8", newline="") as incidents_csv,
            open(tmp / "incidents.jsonl", "w", encoding="utf-8", newline="") as incidents_jsonl,
        ):
            incidents_csv.write(csv_header())

            def write_incident(row: dict[str, Any]) -> None:
                incidents_csv.write(csv_line(row))
                incidents_jsonl.write(jsonl_row(row))

            with PendingSentences(tmp / PENDING) as pending:
                first = FirstPass(
                    nlp,
                    task,
                    policy,
                    labels,
                    progress,
                    project=project,
                    write_line=jsonl.write,
                    pending=pending,
                    write_incident=write_incident,
                    report_numbers=report_numbers,
                )
                for batch in batches:
                    first.add(*batch)
                for written in (jsonl, incidents_csv, incidents_jsonl):
                    written.flush()
                    os.fsync(written.fileno())
                _refuse_empty(first.n_exported, first.n_spans, bool(first.label_list()), policy, first.excluded)
                dev_reports = first.dev_reports(dev_fraction, seed)
                n_dev = first.docs_of(dev_reports)
                sizes = {"train": first.n_exported - n_dev, "dev": n_dev}
                writers = {
                    side: ShardWriter(tmp / f"{side}.spacy", sizes[side] > shard_size, shard_size, sizes[side])
                    for side in SPLITS
                }
                counts = split_rows(pending, dev_reports, {side: w.add for side, w in writers.items()})
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
    if n_docs == 0 and not excluded:
        raise ExportError("nothing to export: the project has no sentences; import reports first")
    if n_docs == 0:
        reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(excluded.items()))
        raise ExportError(
            f"nothing to export: no sentence has usable gold under policy {policy!r} "
            f"(sentences left out, by reason: {reasons}); "
            "annotate or adjudicate more sentences, or choose another policy"
        )
    if not has_labels or n_spans == 0:
        raise ExportError("nothing to train: the exported sentences have no spans; annotate some spans first")


def _manifest_bytes(manifest: Mapping[str, Any]) -> bytes:
    return (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
