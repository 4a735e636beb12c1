"""Suggested spans for a sentence: imported, rule-based and model-predicted.

Also the project's vocabularies (gazetteer with the project's own entries,
outcome categories) that normalised values and the rules are computed from.
Suggesters and loaded models are derived data: cached in process memory,
keyed by what they are built from, never stored.
"""

from __future__ import annotations

import logging
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ..db import core_connection
from ..incidents import incidents_to_json, link_nearest
from ..labels.kinds import kind_of
from ..labels.normalise import Gazetteer, OutcomeVocabulary, normalise
from ..labels.normalise import GazetteerEntry as GazetteerRecord
from ..labels.scheme import active_labels
from ..models import Project, Sentence, Suggestion
from ..records import SUGGESTION_SOURCES
from .projects import project_settings

log = logging.getLogger(__name__)
PROJECT_KIND = "project"  # the gazetteer kind of entries an admin added to a project


# --- Vocabularies ---------------------------------------------------------------


@lru_cache(maxsize=64)
def build_gazetteer(extra: tuple[tuple[str, tuple[str, ...]], ...]) -> Gazetteer:
    """The shipped gazetteer plus ``extra`` (canonical, aliases) entries; raises VocabularyError."""
    if not extra:
        return Gazetteer.default()
    entries = [*Gazetteer.default().entries]
    for canonical, aliases in extra:
        entries.append(GazetteerRecord(canonical, tuple(aliases), PROJECT_KIND))
    return Gazetteer(entries)


def project_gazetteer(session: Session, project: Project) -> Gazetteer:
    """The shipped gazetteer plus the project's GazetteerEntry rows.

    A stored entry that clashes with the shipped ones (admin pages refuse to
    add those) is ignored rather than breaking every save.
    """
    extra = project_settings(session, project).gazetteer_entries
    try:
        return build_gazetteer(extra)
    except ValueError:
        log.warning(
            "project %s: gazetteer entries clash with the shipped gazetteer; using the shipped one", project.name
        )
        return Gazetteer.default()


def _outcomes_key(project: Project) -> tuple | None:
    if not project.outcomes:
        return None
    return tuple(
        (e.get("category"), e.get("description", ""), tuple(e.get("phrases") or ()))
        if isinstance(e, dict)
        else (None, "", ())
        for e in project.outcomes
    )


@lru_cache(maxsize=64)
def build_outcomes(key: tuple | None) -> OutcomeVocabulary:
    """The vocabulary for ``key`` ((category, description, phrases) entries), shipped if None."""
    if key is None:
        return OutcomeVocabulary.default()
    return OutcomeVocabulary({"category": c, "description": d, "phrases": list(p)} for c, d, p in key)


def project_outcomes(project: Project) -> OutcomeVocabulary:
    """``Project.outcomes`` as a vocabulary, or the shipped one when unset or malformed."""
    try:
        return build_outcomes(_outcomes_key(project))
    except ValueError:
        log.warning("project %s: malformed outcome vocabulary; using the shipped one", project.name)
        return OutcomeVocabulary.default()


def label_names(project: Project) -> list[str]:
    """Every label of the project's scheme, retired ones included (their spans are kept)."""
    return [label["name"] for label in project.labels]


def offered_label_names(project: Project) -> list[str]:
    """The labels a new span may take: the scheme's labels that are not retired."""
    return [label["name"] for label in active_labels(project.labels)]


def _kinds_key(project: Project) -> tuple[tuple[str, str], ...]:
    """(name, kind) of the labels offered, in scheme order: what the rule suggester is built from."""
    return tuple((label["name"], kind_of(label["name"], project.labels)) for label in active_labels(project.labels))


# --- Suggesters -----------------------------------------------------------------


@lru_cache(maxsize=32)
def _rule_suggester(gazetteer: Gazetteer, outcomes: OutcomeVocabulary, kinds: tuple[tuple[str, str], ...]):
    """A rule suggester naming each kind's spans after the first offered label of that kind in ``kinds``.

    It has no pipeline: it runs over a sentence's stored tokens (``suggest_tokens``), so serving loads no spaCy.
    """
    from ..labels.suggest import RuleSuggester

    scheme = [{"name": name, "kind": kind} for name, kind in kinds]
    return RuleSuggester(None, gazetteer, outcomes, scheme=scheme)


def rule_suggester(session: Session, project: Project):
    """The project's rule suggester (its labels' kinds, gazetteer and outcome vocabulary), cached per process.

    It suggests over token offsets (``suggest_tokens``): a sentence's stored tokens.
    """
    return _rule_suggester(project_gazetteer(session, project), project_outcomes(project), _kinds_key(project))


def warm_suggesters(session: Session) -> int:
    """Build, once in this process, what a project's first labelling request would build; returns the projects.

    For each project: its gazetteer and outcome vocabulary and its rule
    suggester, run once on the project's first sentence, and its trained model
    when it has one (the only part that imports spaCy: the rules run over
    the tokens stored with each sentence).
    A server calls it before it forks its workers (``gunicorn.conf.py``), so
    that they share it and no annotator's first request pays for it.
    """
    projects = session.scalars(select(Project).order_by(Project.id)).all()
    for project in projects:
        suggester = rule_suggester(session, project)
        first = session.execute(
            select(Sentence.text, Sentence.tokens).where(Sentence.project_id == project.id).limit(1)
        ).first()
        if first is not None:
            suggester.suggest_tokens(first.text, first.tokens)
        model = model_source(session, project)
        if model is not None:
            load_model(model[0])
    return len(projects)


_models: dict[tuple[str, float], Any] = {}
_models_lock = threading.Lock()
# Pipelines kept loaded per process (switching versions back and forth reloads none of them);
# past this many, the least recently loaded goes.
MAX_LOADED_MODELS = 8


def _model_mtime(path: Path) -> float:
    meta = path / "meta.json"
    return max(path.stat().st_mtime, meta.stat().st_mtime if meta.exists() else 0.0)


def load_model(model_path: str):
    """The pipeline at ``model_path``, cached by path and modification time; None if it does not load."""
    from ..export.training import load_pipeline

    path = Path(model_path)
    try:
        key = (str(path.resolve()), _model_mtime(path))
    except OSError:
        log.warning("model %s does not exist; no model suggestions", model_path)
        return None
    with _models_lock:
        if key not in _models:
            for old in [k for k in _models if k[0] == key[0]]:
                del _models[old]  # a retrained model replaces the old one
            while len(_models) >= MAX_LOADED_MODELS:
                del _models[next(iter(_models))]  # the least recently loaded
            try:
                _models[key] = load_pipeline(path)
            except Exception:  # noqa: BLE001 - any broken model only costs its suggestions
                log.warning("model %s does not load; no model suggestions", model_path, exc_info=True)
                _models[key] = None
        return _models[key]


# --- Suggestions ----------------------------------------------------------------


# Built once, columns rather than Suggestion objects: the labelling page reads it per sentence.
_STORED = (
    select(Suggestion.start_char, Suggestion.end_char, Suggestion.label, Suggestion.value, Suggestion.source)
    .where(Suggestion.sentence_id == bindparam("sentence_id"))
    .order_by(Suggestion.start_char, Suggestion.id)
)


def stored_suggestions(session: Session, sentence: Sentence) -> list[Any]:
    """The sentence's Suggestion rows (start_char, end_char, label, value, source), by offset."""
    return list(core_connection(session).execute(_STORED, {"sentence_id": sentence.id}).all())


def suggestions_for(
    session: Session, project: Project, sentence: Sentence, *, rules: bool = True, stored: list[Any] | None = None
) -> list[dict[str, Any]]:
    """Suggested spans for ``sentence``, sorted by offset.

    Each is ``{"start_char", "end_char", "label", "value", "source", "score", "model_version"}``
    with ``source`` one of "import" (Suggestion rows), "rules" (``RuleSuggester``,
    when ``rules``) or "model" (:func:`model_source`: the active model version's
    pipeline, else ``Project.model_path``, when it loads), ``model_version`` the number of the
    version that suggested a "model" span (None for ``model_path`` and the other sources),
    and ``score`` the model's confidence (0 to 1) where it gives one
    (a spancat pipeline), else None; a model suggestion scored below the project's
    ``suggestion_min_score`` is left out. Only spans of the project's labels that start and end on the
    sentence's stored tokens are kept; a span found by several sources is
    listed once, under the first source in ``records.SUGGESTION_SOURCES`` (import, model, rules: a
    span the model suggests too is offered as the model's, with its confidence and version). ``stored``: the rows of
    :func:`stored_suggestions`, when the caller read them already.
    """
    gazetteer = project_gazetteer(session, project)
    outcomes = project_outcomes(project)
    found: list[tuple[int, int, str, str | None, str, float | None]] = []
    for row in stored if stored is not None else stored_suggestions(session, sentence):
        value = (
            row.value
            if row.value is not None
            else normalise(row.label, sentence.text[row.start_char : row.end_char], gazetteer, outcomes, project.labels)
        )
        found.append(
            (
                row.start_char,
                row.end_char,
                row.label,
                value,
                "import" if row.source not in ("rules", "model") else row.source,
                None,
            )
        )
    if rules:
        suggester = _rule_suggester(gazetteer, outcomes, _kinds_key(project))
        for span in suggester.suggest_tokens(sentence.text, sentence.tokens):
            found.append((span.start_char, span.end_char, span.label, span.value, "rules", None))
    model = model_source(session, project)
    if model is not None:
        nlp = load_model(model[0])
        if nlp is not None:
            from ..export.training import predict_scored_spans

            for span, score in predict_scored_spans(nlp, sentence.text):
                if score is not None and score < project.suggestion_min_score:
                    continue
                text = sentence.text[span.start_char : span.end_char]
                found.append(
                    (
                        span.start_char,
                        span.end_char,
                        span.label,
                        normalise(span.label, text, gazetteer, outcomes, project.labels),
                        "model",
                        score,
                    )
                )

    starts = {start for start, _ in sentence.tokens}
    ends = {end for _, end in sentence.tokens}
    labels = set(offered_label_names(project))  # a retired label is suggested for no span
    order = {source: i for i, source in enumerate(SUGGESTION_SOURCES)}
    best: dict[tuple[int, int, str], tuple] = {}
    for item in found:
        start, end, label, _, source, _ = item
        if label not in labels or start not in starts or end not in ends or not start < end:
            continue
        key = (start, end, label)
        if key not in best or order[source] < order[best[key][4]]:
            best[key] = item
    version = model[1] if model is not None else None
    return [
        {
            "start_char": s,
            "end_char": e,
            "label": label,
            "value": value,
            "source": source,
            "score": score,
            "model_version": version if source == "model" else None,
        }
        for s, e, label, value, source, score in sorted(best.values(), key=lambda t: (t[0], t[1], t[2]))
    ]


def model_source(session: Session, project: Project) -> tuple[str, int | None] | None:
    """The pipeline that suggests spans for ``project`` and its version number.

    The active model version's pipeline; for a project trained before versions
    existed (a ``model_path`` and no active version), that path with no number.
    """
    from .model_versions import PIPELINE

    active = project_settings(session, project).active_model
    if active is not None:
        directory, number = active
        return str(Path(directory) / PIPELINE), number
    if project.model_path:
        return project.model_path, None
    return None


def suggested_incidents(
    project: Project, sentence: Sentence, suggestions: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Incidents proposed over the suggested spans ``suggestions`` (the rule baseline, ``incidents.link_nearest``).

    In the JSON shape of ``annotator.incidents``; an annotator accepts them with the spans they link.
    """
    keys = [(s["start_char"], s["end_char"], s["label"]) for s in suggestions]
    return incidents_to_json(link_nearest(sentence.text, keys, project.labels))
