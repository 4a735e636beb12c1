"""Label Studio's JSON export: a list of tasks, each a report with its annotators' spans.

A task is ``{"id", "data": {"text", ...}, "annotations": [...], ...}``; each
annotation holds ``completed_by`` (the user's id, or an object with their
``email``), ``was_cancelled`` (``true``: a skip; ``false`` or absent: done
work; any other value is an error) and ``result``: items of ``type``
"labels" carry ``value.start``, ``value.end`` (end exclusive), ``value.text``
and ``value.labels`` (one span per label). Other result types (choices,
relations, text areas) and ``predictions`` are not spans and are passed over.

Label Studio counts offsets in the browser's UTF-16 units, which differ from
code points after an emoji: each span's ``value.text`` tells which count the
offsets are in, and a span whose text matches neither is an error.
"""

from __future__ import annotations

import json
from typing import Any, TypeGuard

from ..limits import DEFAULT_LIMITS, LimitExceeded, Limits, parse_json, shown, strings_problem
from ..records import ImportedAnnotation, ReportRecord, SpanRecord
from .parse import CorpusError


def parse_label_studio(name: str, text: str, limits: Limits = DEFAULT_LIMITS) -> list[ReportRecord]:
    """Reports (one per task) with one annotation per Label Studio annotation; raises CorpusError.

    The annotator is ``completed_by.email`` or, when only an id is exported,
    ``label-studio-<id>``; a cancelled annotation is imported as skipped, and a
    ``was_cancelled`` that is not true or false is an error.
    Errors name the file and the task by its index in the list (from 1) and id.
    """
    try:
        tasks = parse_json(text, limits.max_json_depth)
    except json.JSONDecodeError as exc:
        raise CorpusError(name, exc.lineno, f"invalid JSON: {exc.msg} (column {exc.colno})") from None
    except LimitExceeded as exc:
        raise CorpusError(name, None, f"the file is not a Label Studio export: {exc.message}") from None
    except ValueError as exc:  # NonFiniteNumber: NaN, Infinity, a float out of range, an integer too long
        raise CorpusError(name, None, f"the file is not valid JSON: {exc}") from None
    if not isinstance(tasks, list):
        raise CorpusError(
            name, None, "the file is not a Label Studio export, which is a JSON list of tasks (export as JSON)"
        )
    reports = []
    for index, (task, line) in enumerate(zip(tasks, _task_lines(text, len(tasks)), strict=True), start=1):
        try:
            problem = strings_problem(task)
            if problem is not None:
                raise _fail(name, f"task {index}", problem)
            reports.append(_task(name, index, task, line))
        except CorpusError as exc:
            raise CorpusError(name, line, exc.message) from None
    return reports


def _task_lines(text: str, count: int) -> list[int | None]:
    """The line each task of the top-level list starts on (None for all, if the list cannot be walked)."""
    decoder = json.JSONDecoder()
    lines: list[int | None] = []
    at = text.find("[")
    if at < 0:
        return [None] * count
    at += 1
    while len(lines) < count:
        while at < len(text) and text[at] in " \t\r\n,":
            at += 1
        lines.append(text.count("\n", 0, at) + 1)
        try:
            _, at = decoder.raw_decode(text, at)
        except ValueError:
            return [None] * count
    return lines


def _fail(name: str, where: str, message: str) -> CorpusError:
    return CorpusError(name, None, f"{where}: {message}")


def _task(name: str, index: int, task: Any, line: int | None) -> ReportRecord:
    where = f"task {index}"
    if not isinstance(task, dict):
        raise _fail(name, where, "each task must be a JSON object with a 'data' object")
    if "id" in task:
        where += f" (id {str(task['id'])[:40]})"
    data = task.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        raise _fail(name, where, 'missing "data.text" (a string): the report\'s text')
    text = data["text"]
    if not text.strip():
        raise _fail(name, where, '"data.text" is empty')
    annotations = task.get("annotations", [])
    if not isinstance(annotations, list):
        raise _fail(name, where, '"annotations" must be a list')
    source = data.get("source")
    return ReportRecord(
        text=text,
        external_id=None if task.get("id") is None else str(task["id"]),
        source=source if isinstance(source, str) else None,
        meta={k: v for k, v in data.items() if k not in ("text", "source")},
        line=line,
        annotations=tuple(
            _annotation(name, f"{where}, annotation {n}", annotation, text)
            for n, annotation in enumerate(annotations, start=1)
        ),
    )


def _annotator(name: str, where: str, completed_by: Any) -> str:
    if isinstance(completed_by, dict):
        email = completed_by.get("email")
        if isinstance(email, str) and email.strip():
            return email.strip()
        completed_by = completed_by.get("id")
    if isinstance(completed_by, int) and not isinstance(completed_by, bool):
        return f"label-studio-{completed_by}"
    raise _fail(name, where, '"completed_by" must be a user id or an object with an "email"')


def _annotation(name: str, where: str, annotation: Any, text: str) -> ImportedAnnotation:
    if not isinstance(annotation, dict):
        raise _fail(name, where, "each annotation must be a JSON object")
    annotator = _annotator(name, where, annotation.get("completed_by"))
    result = annotation.get("result", [])
    if not isinstance(result, list):
        raise _fail(name, where, '"result" must be a list')
    spans: list[SpanRecord] = []
    for n, item in enumerate(result, start=1):
        if not isinstance(item, dict):
            raise _fail(name, f"{where}, result {n}", "each result must be a JSON object")
        if item.get("type") == "labels":
            spans.extend(_spans(name, f"{where}, result {n}", item.get("value"), text))
    # Only JSON's true and false: "yes", 1 or null could mean either, and a guess would import a skip as done work.
    cancelled = annotation.get("was_cancelled", False)
    if not isinstance(cancelled, bool):
        raise _fail(name, where, f'"was_cancelled" must be true (a skip) or false, not {_json_shown(cancelled)}')
    return ImportedAnnotation(annotator, tuple(spans), "skipped" if cancelled else "done")


def _json_shown(value: Any, chars: int = 40) -> str:
    """A value as the file writes it (``null``, ``"yes"``, ``1``), cut short as ``shown`` cuts a long one."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= chars else text[: chars - 1] + "\u2026"


def _spans(name: str, where: str, value: Any, text: str) -> list[SpanRecord]:
    if not isinstance(value, dict):
        raise _fail(name, where, '"value" must be an object with "start", "end" and "labels"')
    start, end, labels = value.get("start"), value.get("end"), value.get("labels")
    if not (_is_int(start) and _is_int(end)):
        raise _fail(name, where, f'"start" and "end" must be integers, not {shown(start)}, {shown(end)}')
    if not isinstance(labels, list) or not labels or not all(isinstance(x, str) and x for x in labels):
        raise _fail(name, where, f'"labels" must be a list of label names, not {shown(labels)}')
    if not 0 <= start < end:
        raise _fail(name, where, f"span [{start}, {end}) is empty or negative: start must be before end")
    start, end = _code_points(name, where, text, start, end, value.get("text"))
    return [SpanRecord(start, end, label) for label in labels]


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _code_points(name: str, where: str, text: str, start: int, end: int, marked: Any) -> tuple[int, int]:
    """``start``/``end`` as code points: as given, or converted from UTF-16 units when ``marked`` says so."""
    if end <= len(text) and (not isinstance(marked, str) or text[start:end] == marked):
        return start, end
    units = text.encode("utf-16-le")
    if isinstance(marked, str) and 2 * end <= len(units):
        try:
            before = units[: 2 * start].decode("utf-16-le")
            inside = units[2 * start : 2 * end].decode("utf-16-le")
        except UnicodeDecodeError:
            inside = None  # an offset inside a surrogate pair
        if inside == marked:
            return len(before), len(before) + len(inside)
    if end > len(text):
        raise _fail(name, where, f"span [{start}, {end}) is outside the text (length {len(text)})")
    raise _fail(
        name,
        where,
        f'span [{start}, {end}) covers {shown(text[start:end])} in the text, but its "text" is {shown(marked)}',
    )
