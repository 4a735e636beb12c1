"""The first pass of an export: each sentence's gold resolved, aligned and checked, and the tallies.

``FirstPass.add`` takes the sentences of a batch with their annotations and gold, resolves the
gold by the policy (``annotator.export.gold``), tokenises the sentence once
(``nlp.make_doc(sentence.text)``) and aligns its spans strictly to that Doc
(``annotator.export.align``), writes one Prodigy line for every sentence with an annotation or
gold, and hands each exported sentence's Doc, annotated and made into its DocBin row
(``annotator.export.files.DocRows``), to ``pending`` for the second pass
(``annotator.export.align.split_rows``). What it keeps (counts per report, gold source, label and
reason for exclusion, the problems listed) makes the manifest and the training config.
"""

from __future__ import annotations

import dataclasses
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..incidents import incidents_to_json
from ..incidents.table import incident_rows
from ..records import AnnotationRecord, GoldRecord, GoldSpanRecord, SentenceRecord
from .align import (
    align_spans,
    annotate_doc,
    export_scheme,
    linked_label_names,
    overlapping_pairs,
    prodigy_line,
    source_kind,
)
from .files import FILES, DocRows
from .gold import resolve_gold
from .pending import Exported, PendingSentences
from .spacy_config import make_config
from .split import dev_reports

if TYPE_CHECKING:  # spaCy loads when an export starts, not with the app
    from spacy.language import Language
    from spacy.tokens import Span

__all__ = ["GOLD_SOURCES", "MISALIGNED", "OVERLAP", "FirstPass", "Gold"]

GOLD_SOURCES = ("adjudicated", "unanimous", "majority", "single annotator", "annotator")
MISALIGNED = "misaligned span"
OVERLAP = "overlapping spans"

Gold = Iterable[GoldRecord] | Mapping[int, GoldRecord]


class FirstPass:
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
        project: str,
        write_line: Callable[[str], Any],
        pending: PendingSentences,
        write_incident: Callable[[dict[str, Any]], Any] | None = None,
        report_numbers: Mapping[int, int] | None = None,
    ) -> None:
        """The export's own options, as ``build.build_export`` takes them; where the Prodigy lines and sentences go.

        ``project`` is the name each Doc's user data carries. Make it inside the export's
        ``align.linked_labels`` block: the labels whose value is a span's ``kb_id_`` are read here, once.

        ``write_incident`` takes each row of the incident table (``annotator.incidents.table``) of the exported
        sentences; ``report_numbers`` gives each report's number in its project (default: its id).
        """
        self.write_incident, self.report_numbers = write_incident, report_numbers or {}
        self.n_incidents = 0
        self.nlp, self.task, self.policy, self.progress = nlp, task, policy, progress
        self.labels = list(labels) if labels is not None else None
        self.keep = set(labels) if labels is not None else None
        self.write_line, self.pending = write_line, pending
        self.project, self.rows = project, DocRows()
        self.linked, self.scheme = linked_label_names(), export_scheme()
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
            incidents = resolution.incidents
            if incidents and self.keep is not None:  # an incident of a label left out goes with it
                kept = {(s.start_char, s.end_char, s.label) for s in spans}
                incidents = tuple(i for i in incidents if set(i.spans) <= kept)
                resolution = dataclasses.replace(resolution, incidents=incidents)
            if self.keep is not None and len(spans) < len(resolution.spans):
                self.dropped.update(s.label for s in resolution.spans if s.label not in self.keep)
            reason = resolution.excluded
            if reason is None:
                aligned, problems = align_spans(doc, sentence, spans, self.linked)
                self.misaligned.extend(problems)
                overlaps = overlapping_pairs(sentence, spans) if self.task == "ner" else []
                self.conflicts.extend(overlaps)
                reason = MISALIGNED if problems else OVERLAP if overlaps else None
                if reason is None:
                    annotate_doc(
                        doc,
                        self.task,
                        aligned,
                        project=self.project,
                        report_id=sentence.report_id,
                        sentence_id=sentence.id,
                        gold_source=resolution.source,
                        incidents=incidents_to_json(incidents),
                    )
                    exported.append(
                        (sentence.report_id, tuple(token_span.label_ for _, token_span in aligned), self.rows.row(doc))
                    )
                    self._count_exported(sentence.report_id, aligned, resolution.source)
                    self._write_incidents(sentence, spans, resolution.source, incidents)
            if reason is not None:
                self.excluded[reason] += 1
            if sentence_annotations or sentence_gold is not None:
                self.write_line(prodigy_line(doc, sentence, sentence_annotations, spans, resolution, reason))
            self.n_done += 1
            if self.progress is not None:
                self.progress(self.n_done)
        if ordered:
            self._last = (ordered[-1].report_id, ordered[-1].position, ordered[-1].id)
        self.pending.add(exported)

    def _write_incidents(self, sentence: SentenceRecord, spans, source: str | None, incidents) -> None:
        self.n_incidents += len(incidents)
        if self.write_incident is None or not incidents:
            return
        for row in incident_rows(
            sentence.text,
            incidents,
            {(s.start_char, s.end_char, s.label): s.value for s in spans},
            report=self.report_numbers.get(sentence.report_id, sentence.report_id),
            sentence=sentence.position + 1,
            offset=sentence.start_char,
            gold_source=source,
            scheme=self.scheme,
        ):
            self.write_incident(row)

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
            "incidents": self.n_incidents,  # gold incidents of the exported sentences: the rows of incidents.csv
            "content_sha256": content_sha256,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "agreement": dict(agreement) if agreement is not None else None,
            "status": dict(status) if status is not None else None,
            "files": list(FILES),
        }
