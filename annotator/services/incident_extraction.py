"""Incidents extracted from new reports by a project's model, and the whole chain scored against gold.

The spans come from the project's active model version (its ``model-best`` pipeline), else from the
rule suggestions, with a note saying so; each span's value is normalised by its label's kind with the
project's gazetteer and outcome vocabulary; the rule baseline links them into incidents
(``incidents.extract.link_sentence``). Reports are split into sentences as an import splits them
(``corpus.text``). Functions receive the session and never commit (they only read).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from ..corpus.parse import parse_files
from ..corpus.text import make_nlp, split_reports
from ..export.files import ExportError
from ..incidents.extract import incident_fields, link_sentence, score_incidents
from ..incidents.rules import link_nearest
from ..incidents.table import incident_rows
from ..labels.normalise import normalise
from ..labels.scheme import active_labels
from ..limits import DEFAULT_LIMITS, Limits
from ..models import ModelVersion, Project
from ..records import SpanKey
from .model_scores import EXPORT_FOLDER, held_out_gold
from .model_versions import active_version, pipeline_path
from .suggestions import load_model, project_gazetteer, project_outcomes

__all__ = ["ExtractionError", "SpanFinder", "evaluate_extraction", "extract_reports", "read_files", "span_finder"]

NO_MODEL = "no active model version: the rule suggestions found the spans (train one with 'annotator train')"


class ExtractionError(Exception):
    """Reports that cannot be read, or gold that cannot be scored; the message says what to do."""


@dataclass(frozen=True)
class SpanFinder:
    """What finds the spans: ``name`` (``model vN`` or ``rules``), ``find`` (texts -> spans of each), a ``note``."""

    name: str
    find: Callable[[Sequence[str]], list[list[SpanKey]]]
    note: str | None = None
    version: ModelVersion | None = None


def span_finder(session: Session, project: Project) -> SpanFinder:
    """The project's active model version's pipeline, else the rule suggester (with a note why)."""
    from ..export.heldout import predicted_spans  # spaCy: only when spans are found

    version = active_version(session, project)
    note = NO_MODEL
    if version is not None:
        nlp = load_model(str(pipeline_path(version)))
        if nlp is not None:
            return SpanFinder(f"model v{version.number}", lambda texts: predicted_spans(nlp, texts), None, version)
        note = f"version {version.number}'s pipeline does not load: the rule suggestions found the spans"
    from ..labels.suggest import RuleSuggester

    scheme = [{"name": label["name"], "kind": label.get("kind")} for label in active_labels(project.labels)]
    rules = RuleSuggester(
        make_nlp(project.lang), project_gazetteer(session, project), project_outcomes(project), scheme=scheme
    )
    return SpanFinder(
        "rules", lambda texts: [[(s.start_char, s.end_char, s.label) for s in rules.suggest(t)] for t in texts], note
    )


def _normaliser(session: Session, project: Project) -> Callable[[str, str], str | None]:
    gazetteer, outcomes = project_gazetteer(session, project), project_outcomes(project)
    return lambda label, text: normalise(label, text, gazetteer, outcomes, project.labels)


def extract_reports(
    session: Session, project: Project, files: Sequence[tuple[str, bytes]], limits: Limits = DEFAULT_LIMITS
) -> tuple[list[dict[str, Any]], SpanFinder, int]:
    """The incident table of the reports in ``files`` (name, bytes; any import format), the finder, and the
    number of reports.

    A row's ``report`` is the report's ``id`` in its file when it has one, else ``FILE#N`` (its place in
    the file, from 1); ``gold_source`` names the finder. Spans and annotations in the files are ignored.
    Raises ``ExtractionError`` naming the file and line of the first file that cannot be read.
    """
    parsed, errors = parse_files(files, limits)
    if errors:
        raise ExtractionError(str(errors[0]))
    finder = span_finder(session, project)
    value_of = _normaliser(session, project)
    nlp = make_nlp(project.lang)
    reports = [
        (record.external_id or f"{name}#{number}", record.text)
        for name, records in parsed
        for number, record in enumerate(records, start=1)
    ]
    too_long = next((name for name, text in reports if len(text) > nlp.max_length), None)
    if too_long is not None:
        raise ExtractionError(f"report {too_long} is longer than the tokenizer takes; split it into several reports")
    split = list(split_reports(nlp, [text for _, text in reports]))
    texts = [s.text for sentences in split for s in sentences]
    found = iter(finder.find(texts))
    rows: list[dict[str, Any]] = []
    for (name, _), sentences in zip(reports, split, strict=True):
        for position, sentence in enumerate(sentences, start=1):
            incidents, values = link_sentence(sentence.text, next(found), value_of, project.labels)
            rows.extend(
                incident_rows(
                    sentence.text,
                    incidents,
                    values,
                    report=name,
                    sentence=position,
                    offset=sentence.start_char,
                    gold_source=finder.name,
                    scheme=project.labels,
                )
            )
    return rows, finder, len(reports)


def evaluate_extraction(session: Session, project: Project) -> dict[str, Any]:
    """Incident-level scores of ``extract`` on the adjudicated sentences the active version did not train on.

    The held-out sentences are those with gold outside the reports of the version's train split (read
    from its own export, as ``model_scores`` does); with no active version (the rule suggestions) every
    adjudicated sentence counts. ``{"model", "note", "sentences", "excluded", "gold_incidents",
    "extract": scores, "linker": scores}``: ``extract`` is the whole chain (spans found, values,
    links), ``linker`` the rule baseline alone on the gold spans (``incidents.extract.score_incidents``).
    Raises ``ExtractionError`` when the version's train split cannot be read or nothing is held out.
    """
    from ..export.heldout import read_train_split

    finder = span_finder(session, project)
    reports: frozenset[int] = frozenset()
    if finder.version is not None:
        try:
            reports = read_train_split(
                Path(finder.version.pipeline_dir) / EXPORT_FOLDER, finder.version.content_sha256
            ).reports
        except ExportError as exc:
            raise ExtractionError(
                f"{finder.name}'s training split cannot be read: {exc}; train a new version"
            ) from None
    records, held = held_out_gold(session, project, reports)
    if not held and finder.version is None:
        raise ExtractionError(
            "no adjudicated sentence to score against; adjudicate some on the project's Review page first"
        )
    if not held:
        raise ExtractionError(
            f"no adjudicated sentence outside {finder.name}'s training reports "
            f"({len(records.gold)} adjudicated); adjudicate sentences of other reports"
        )
    value_of = _normaliser(session, project)
    scheme = project.labels
    predicted_spans = finder.find([s.text for s in held])
    chain, linker = [], []
    n_gold = 0
    for sentence, spans in zip(held, predicted_spans, strict=True):
        gold = records.gold[sentence.id]
        gold_values = {
            (s.start_char, s.end_char, s.label): s.value
            if s.value is not None
            else value_of(s.label, sentence.text[s.start_char : s.end_char])
            for s in gold.spans
        }
        truth = incident_fields(sentence.text, gold.incidents, gold_values, scheme)
        n_gold += len(truth)
        incidents, values = link_sentence(sentence.text, spans, value_of, scheme)
        chain.append((incident_fields(sentence.text, incidents, values, scheme), truth))
        linked = link_nearest(sentence.text, list(gold_values), scheme)
        linker.append((incident_fields(sentence.text, linked, gold_values, scheme), truth))
    return {
        "model": finder.name,
        "note": finder.note,
        "sentences": len(held),
        "excluded": len(records.gold) - len(held),
        "gold_incidents": n_gold,
        "extract": score_incidents(chain),
        "linker": score_incidents(linker),
    }


def read_files(paths: Sequence[str]) -> list[tuple[str, bytes]]:
    """(name, bytes) of each path; ``ExtractionError`` for one that cannot be read."""
    files = []
    for path in paths:
        try:
            files.append((Path(path).name, Path(path).read_bytes()))
        except OSError as exc:
            raise ExtractionError(f"{path}: cannot be read ({exc.strerror})") from None
    return files
