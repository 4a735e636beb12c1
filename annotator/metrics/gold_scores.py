"""Each annotator scored against gold that their own vote did not make.

Scoring an annotator against a consensus they voted in flatters them: with
two annotators and no reviewer, "gold" is the sentences the two agreed on,
so both score 1.000. Here an annotator's spans on a sentence are scored
(strict match: same start_char, end_char and label) against

* the sentence's adjudicated gold, where a reviewer saved one; else
* the majority of the *other* voters (leave-one-out, ``gold.resolve_gold``
  on their annotations), when there are at least two of them and their vote
  decides the sentence (no tie, not flagged); a "majority" of one other
  annotator is only that annotator, and is not used.

Otherwise the sentence does not score that annotator. An annotator with no
scored sentence gets None for precision, recall and F1 and a ``reason``
saying why. Only annotations with status "done" or "flagged" are scored.

``GoldScoreTally`` adds the counts up batch by batch (an export streams);
``annotator_vs_gold`` is the same on one batch. The review dashboard,
``annotator agreement`` and the export manifest all report this figure.
``model_vs_gold`` scores a model's predicted spans the same way (strict
match, the same ``_prf``) against adjudicated gold, with bootstrap intervals.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from ..export.gold import VOTING_STATUSES, resolve_gold
from ..records import AnnotationRecord, GoldRecord, SentenceRecord
from .coefficients import percentile_interval

RULE = (
    "strict span match against adjudicated gold, else against the majority of the other annotators "
    "(2+ of them, leave-one-out); an annotator's own vote never makes their gold"
)
NO_GOLD = "no adjudicated sentence, and no sentence with 2+ other annotators whose majority could score {name}"

Key = tuple[int, int, str]


class GoldScoreTally:
    """Correct, predicted and reference spans per annotator and label, added up batch by batch.

    ``add`` takes one batch of sentences with all their annotations and gold
    (a sentence in one batch only); ``summary`` returns the scores.
    """

    def __init__(self, labels: Sequence[str]):
        self.labels = list(labels)
        self._label_at = {label: j for j, label in enumerate(self.labels)}
        n = len(self.labels)
        self._tallies: dict[str, list[list[int]]] = defaultdict(lambda: [[0] * n for _ in range(3)])
        self._scored: Counter[str] = Counter()
        self._by_source: dict[str, Counter[str]] = defaultdict(Counter)
        self._sentences: Counter[str] = Counter()
        self._annotators: set[str] = set()

    def add(
        self,
        sentences: Iterable[SentenceRecord],
        annotations: Iterable[AnnotationRecord],
        gold: Iterable[GoldRecord] = (),
    ) -> None:
        adjudicated = {g.sentence_id: g for g in gold}
        voters: dict[int, list[AnnotationRecord]] = defaultdict(list)
        for a in annotations:
            if a.status in VOTING_STATUSES:
                voters[a.sentence_id].append(a)
        for sentence in sentences:
            held = voters.get(sentence.id, [])
            self._annotators.update(a.annotator for a in held)
            if sentence.id in adjudicated and held:
                reference = self._keys(adjudicated[sentence.id].spans)
                self._sentences["adjudicated"] += 1
                for a in held:
                    self._score(a, reference, "adjudicated")
                continue
            if len(held) < 3:
                continue
            if len({a.annotator for a in held}) < len(held):  # resolve_gold says what is wrong
                self._leave_one_out_resolved(sentence, held)
                continue
            self._sentences["leave_one_out"] += self._leave_one_out(held)

    def _leave_one_out(self, held: list[AnnotationRecord]) -> bool:
        """Score each of ``held`` (3+ voters, one each) against the others' majority; whether any was scored.

        The others' majority is ``resolve_gold(sentence, others, None, "majority")`` counted directly:
        none of the others flagged, no span that exactly half of them have, the spans more than half have.
        """
        key_sets = [{(s.start_char, s.end_char, s.label) for s in a.spans} for a in held]
        counts: dict[Key, int] = {}
        for keys in key_sets:
            for key in keys:
                counts[key] = counts.get(key, 0) + 1
        flagged = sum(a.status == "flagged" for a in held)
        n_others = len(held) - 1
        used = False
        for a, keys in zip(held, key_sets):
            if flagged - (a.status == "flagged"):
                continue  # another voter flagged it: awaiting review, no majority
            reference = set()
            for key, n in counts.items():
                n -= key in keys
                if 2 * n == n_others:
                    break  # a tie: no majority
                if 2 * n > n_others and key[2] in self._label_at:
                    reference.add(key)
            else:
                self._score(a, reference, "leave_one_out", {k for k in keys if k[2] in self._label_at})
                used = True
        return used

    def _leave_one_out_resolved(self, sentence: SentenceRecord, held: list[AnnotationRecord]) -> None:
        used = False
        for a in held:
            others = [o for o in held if o.annotator != a.annotator]
            resolution = resolve_gold(sentence, others, None, "majority")
            if resolution.included:
                self._score(a, self._keys(resolution.spans), "leave_one_out")
                used = True
        self._sentences["leave_one_out"] += used

    def _keys(self, spans: Iterable[Any]) -> set[Key]:
        return {(s.start_char, s.end_char, s.label) for s in spans if s.label in self._label_at}

    def _score(
        self, annotation: AnnotationRecord, reference: set[Key], source: str, mine: set[Key] | None = None
    ) -> None:
        correct, predicted, wanted = self._tallies[annotation.annotator]
        if mine is None:
            mine = self._keys(annotation.spans)
        for key in mine & reference:
            correct[self._label_at[key[2]]] += 1
        for key in mine:
            predicted[self._label_at[key[2]]] += 1
        for key in reference:
            wanted[self._label_at[key[2]]] += 1
        self._scored[annotation.annotator] += 1
        self._by_source[annotation.annotator][source] += 1

    def summary(self) -> dict[str, Any]:
        """``{"annotators": {name: {precision, recall, f1, ..., sentences, reason}}, "sentences", "match", "rule"}``.

        ``sentences`` counts the sentences that scored anyone, by where
        their gold came from; per annotator, ``adjudicated`` and
        ``leave_one_out`` count theirs. ``reason`` is None when scores exist.
        """
        annotators = {}
        for name in sorted(self._annotators):
            correct, predicted, wanted = self._tallies[name]
            scored = self._scored[name]
            annotators[name] = {
                **_prf(sum(correct), sum(predicted), sum(wanted)),
                "sentences": scored,
                "adjudicated": self._by_source[name]["adjudicated"],
                "leave_one_out": self._by_source[name]["leave_one_out"],
                "by_label": {label: _prf(correct[j], predicted[j], wanted[j]) for j, label in enumerate(self.labels)},
                "reason": None if scored else NO_GOLD.format(name=name),
            }
        return {
            "annotators": annotators,
            "sentences": {
                "adjudicated": self._sentences["adjudicated"],
                "leave_one_out": self._sentences["leave_one_out"],
            },
            "match": "strict",
            "rule": RULE,
        }


def annotator_vs_gold(
    sentences: Iterable[SentenceRecord],
    annotations: Iterable[AnnotationRecord],
    gold: Iterable[GoldRecord] = (),
    labels: Sequence[str] = (),
) -> dict[str, Any]:
    """Each annotator's strict P/R/F1 against gold without their own vote (see the module doc).

    Spans of labels not in ``labels`` are ignored. Figures are None when
    undefined (no scored sentence, or nothing predicted or wanted).
    """
    tally = GoldScoreTally(labels)
    tally.add(sentences, annotations, gold)
    return tally.summary()


def model_vs_gold(
    predictions: Mapping[int, Iterable[Key]],
    gold: Iterable[GoldRecord],
    labels: Sequence[str],
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """A model's strict P/R/F1 against adjudicated gold, overall and per label, with bootstrap intervals.

    ``predictions`` maps a sentence id to the model's spans on it as
    ``(start_char, end_char, label)`` (code points, end exclusive); only the
    gold sentences that have an entry are scored, so the caller chooses them
    (e.g. leaves out the sentences the model trained on). Spans of labels not
    in ``labels`` are ignored. Figures are those of ``annotator_vs_gold``
    (``_prf``: None when undefined). ``ci`` holds ``[low, high]`` per figure
    from ``n_resamples`` resamples of the scored sentences
    (``percentile_interval``; None when the figure is undefined, or undefined
    on over half the resamples).
    """
    labels = list(labels)
    label_at = {label: j for j, label in enumerate(labels)}
    # counts[sentence, 0|1|2, label]: correct, predicted, reference
    rows: list[list[list[int]]] = []
    n = len(labels)

    def keys(spans: Iterable[Any]) -> set[Key]:
        return {(int(s[0]), int(s[1]), str(s[2])) for s in spans if s[2] in label_at}

    for record in gold:
        if record.sentence_id not in predictions:
            continue
        reference = keys((s.start_char, s.end_char, s.label) for s in record.spans)
        predicted = keys(predictions[record.sentence_id])
        row = [[0] * n for _ in range(3)]
        for key in predicted & reference:
            row[0][label_at[key[2]]] += 1
        for key in predicted:
            row[1][label_at[key[2]]] += 1
        for key in reference:
            row[2][label_at[key[2]]] += 1
        rows.append(row)
    counts = np.array(rows, dtype=np.int64).reshape(len(rows), 3, n)
    totals = counts.sum(axis=0)
    point = _figures(totals, labels)
    draws: list[dict[str, Any]] = []
    if len(rows):
        rng = np.random.default_rng(seed)
        for _ in range(n_resamples):
            weights = np.bincount(rng.integers(0, len(rows), len(rows)), minlength=len(rows))
            draws.append(_figures(np.tensordot(weights, counts, axes=1), labels))

    def spread(pick) -> dict[str, list[float] | None]:
        result: dict[str, list[float] | None] = {}
        for figure in FIGURES:
            value = pick(point)[figure]
            estimates = np.array([np.nan if pick(d)[figure] is None else pick(d)[figure] for d in draws], dtype=float)
            interval = None if value is None else percentile_interval(estimates, confidence)
            result[figure] = None if interval is None else list(interval)
        return result

    return {
        **point,
        "sentences": len(rows),
        "ci": {
            "overall": spread(lambda d: d),
            "by_label": {label: spread(lambda d, label=label: d["by_label"][label]) for label in labels},
        },
        "confidence": confidence,
        "resamples": n_resamples,
        "match": "strict",
    }


FIGURES = ("precision", "recall", "f1")


def _figures(totals: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    """``_prf`` overall and per label from a (correct, predicted, reference) x labels table."""
    correct, predicted, wanted = (totals[i].tolist() for i in range(3))
    return {
        **_prf(sum(correct), sum(predicted), sum(wanted)),
        "by_label": {label: _prf(correct[j], predicted[j], wanted[j]) for j, label in enumerate(labels)},
    }


def _prf(correct: int, predicted: int, reference: int) -> dict[str, Any]:
    precision = correct / predicted if predicted else None
    recall = correct / reference if reference else None
    if precision is None or recall is None:
        f1 = None
    else:
        f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "correct": int(correct),
        "predicted": int(predicted),
        "reference": int(reference),
    }
