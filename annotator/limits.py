"""Limits on what one request or one imported record may carry, and the checks that apply them.

Pure: no Flask, no database. The web layer and the import call these
before anything reaches the database, so SQLite and PostgreSQL refuse the
same inputs with the same message (PostgreSQL alone would refuse a NUL or an
over-long ``id`` with a raw error; SQLite would store them).

Every limit is a setting (``ANNOTATOR_<NAME>`` in the environment, ``<NAME>``
in the app config); :data:`DEFAULTS` holds the values used when none is set.
The README's Security section lists them and what happens at each.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

# What a project may ask for: these are bounds of the domain, not settings.
MAX_ANNOTATORS_PER_SENTENCE = 20  # annotators per sentence of a project
MAX_GUIDELINE_CHARS = 200_000  # one version of a project's guidelines

# A span's value column (``models``: String(255)): no value longer than this can be stored, whatever
# MAX_VALUE_CHARS says, so no vocabulary may make one (``labels.normalise``).
MAX_STORED_VALUE_CHARS = 255

# Largest value of a PostgreSQL ``integer`` column (row ids, versions): SQLite's is wider,
# Python's unbounded; a bigger number can only be an error.
MAX_ROW_ID = 2**31 - 1


@dataclass(frozen=True)
class Limits:
    """The limits in force; field names are the settings' names in lower case."""

    max_spans_per_annotation: int = 200  # spans in one annotation or gold save
    max_sentence_chars: int = 10_000  # one sentence, after splitting a report
    max_report_chars: int = 1_000_000  # one imported report (spaCy's own max_length, the most it will take)
    max_comment_chars: int = 10_000  # an annotation's comment
    max_value_chars: int = 255  # a span's normalised value
    max_json_depth: int = 8  # nesting of arrays and objects in a JSON body or JSON line
    max_json_body_bytes: int = 1024 * 1024  # one JSON request body (MAX_CONTENT_LENGTH bounds uploads)
    max_query_offset: int = 1_000_000  # ?offset= of a paged list
    max_seconds_spent: int = 86_400  # one visit of a sentence
    max_listed_problems: int = 20  # problems listed in one refusal; the rest are counted
    max_external_id_chars: int = 255  # a report's "id" (the column's size)
    max_source_chars: int = 1024  # a report's "source" (the column's size)
    max_project_name_chars: int = 120  # a project's name (the column's size)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Limits:
        """The limits from a settings mapping (``MAX_SPANS_PER_ANNOTATION`` ...); missing ones keep their default."""
        values = {}
        for f in fields(cls):
            raw = config.get(f.name.upper())
            if raw is not None:
                values[f.name] = int(raw)
        return cls(**values)


DEFAULT_LIMITS = Limits()
DEFAULTS = {f.name.upper(): getattr(DEFAULT_LIMITS, f.name) for f in fields(Limits)}


class LimitExceeded(ValueError):
    """An input beyond one of the limits; ``limit`` names the setting."""

    def __init__(self, limit: str, message: str):
        super().__init__(message)
        self.limit, self.message = limit, message


# --- Text -----------------------------------------------------------------------


def text_problem(text: str) -> str | None:
    """What makes ``text`` unstorable, or None: a NUL character or an unpaired UTF-16 surrogate.

    PostgreSQL refuses a NUL in text and UTF-8 cannot encode a lone surrogate
    (JSON's ``"\\ud800"`` decodes to one), so both are refused everywhere.
    """
    if "\x00" in text:
        return "holds a NUL character (\\u0000); remove it"
    match = _SURROGATE.search(text)
    if match is not None:
        return f"holds an unpaired surrogate \\u{ord(match.group()):04x}, which is not a character; remove it"
    return None


_SURROGATE = re.compile("[\ud800-\udfff]")


def strings_problem(value: Any) -> str | None:
    """:func:`text_problem` of the first bad string (key or value) anywhere in a decoded JSON value."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem is not None:
                return f"a string {problem}"
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


# --- JSON -----------------------------------------------------------------------


def json_depth(value: Any) -> int:
    """How deeply arrays and objects nest in a decoded JSON value: 0 for a scalar, 1 for ``[]``."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            deepest = max(deepest, depth)
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            deepest = max(deepest, depth)
            stack.extend((v, depth + 1) for v in item)
    return deepest


class NonFiniteNumber(ValueError):
    """NaN, Infinity, a number too large for a float, or an integer of more than 4,300 digits (which
    Python will not read): not JSON (RFC 8259) or not readable, and not storable.

    Python's json module reads them, PostgreSQL refuses them in a json column,
    and written back they make a file no other JSON reader accepts.
    """


def _refuse_constant(name: str) -> float:
    raise NonFiniteNumber(f"{name} is not a finite number (JSON has no NaN or Infinity); write a number or null")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise NonFiniteNumber(f"{text[:40]} is not a finite number (too large for a float); write a smaller one")
    return value


# Python converts integers of at most this many digits (sys.get_int_max_str_digits' default).
MAX_INT_DIGITS = 4300


def _bounded_int(text: str) -> int:
    digits = len(text) - text.startswith("-")
    if digits > MAX_INT_DIGITS:
        raise NonFiniteNumber(
            f"an integer of {digits:,} digits ({text[:20]}...) is too long to be read; write one of at most "
            f"{MAX_INT_DIGITS:,} digits"
        )
    return int(text)


def parse_json(raw: str | bytes, max_depth: int) -> Any:
    """Decode JSON text, refusing nesting deeper than ``max_depth``.

    Raises ValueError for text that is not JSON, NonFiniteNumber (a
    ValueError) for NaN, Infinity, numbers beyond a float's range and integers
    of more than 4,300 digits (which Python will not convert), and
    LimitExceeded ("max_json_depth") for deep nesting. The decoder recurses
    once per level: a body of 100,000 brackets exhausts the interpreter's
    stack, which is caught here too.
    """
    try:
        value = json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite_float, parse_int=_bounded_int)
    except RecursionError:
        value = None
        too_deep = True
    else:
        too_deep = json_depth(value) > max_depth
    if too_deep:
        raise LimitExceeded("max_json_depth", f"JSON nested deeper than {max_depth} levels (MAX_JSON_DEPTH)")
    return value


# --- Numbers --------------------------------------------------------------------


def is_int(value: Any) -> bool:
    """A JSON integer (True and False are not numbers here)."""
    return isinstance(value, int) and not isinstance(value, bool)


def int_problem(value: Any, name: str, low: int, high: int) -> str | None:
    """Why ``value`` is not an integer from ``low`` to ``high``, or None."""
    if not is_int(value):
        return f"{name} must be an integer"
    if not low <= value <= high:
        return f"{name} must be from {low} to {high}"
    return None


def number_problem(value: Any, name: str, low: float, high: float) -> str | None:
    """Why ``value`` is not a finite number from ``low`` to ``high``, or None (huge integers included)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{name} must be a number"
    # Compared before any float conversion: float(10**400) raises OverflowError, NaN compares false.
    if not (low <= value <= high):
        return f"{name} must be a number from {low} to {high}"
    return None


def parse_int(raw: str, name: str, low: int, high: int) -> int:
    """A query parameter as an integer from ``low`` to ``high``; ValueError with a message otherwise."""
    text = raw.strip()
    # Digits only, and few enough: int() of 10,000 digits is slow and past 4,300 an error.
    if not re.fullmatch(r"[+-]?[0-9]{1,19}", text):
        raise ValueError(f"{name} must be an integer from {low} to {high}, not {raw[:40]!r}")
    value = int(text)
    if not low <= value <= high:
        raise ValueError(f"{name} must be an integer from {low} to {high}")
    return value


# --- Names ----------------------------------------------------------------------

# A project name: a letter or digit, then letters, digits, spaces, dots, underscores
# and hyphens. It appears in URLs (/projects/NAME/...), so no slash; no control characters.
PROJECT_NAME = re.compile(r"[^\W_][\w .-]*", re.UNICODE)


def project_name_problem(name: str, limits: Limits = DEFAULT_LIMITS) -> str | None:
    """Why ``name`` cannot name a project, or None.

    The rule: 1 to MAX_PROJECT_NAME_CHARS characters, starting with a letter or
    digit, then letters, digits, spaces, ``.``, ``_`` and ``-``, not ending in a
    space.
    """
    if not name or not name.strip():
        return "a project name cannot be blank"
    if len(name) > limits.max_project_name_chars:
        return f"a project name is at most {limits.max_project_name_chars} characters (MAX_PROJECT_NAME_CHARS)"
    if not PROJECT_NAME.fullmatch(name) or name != name.rstrip():
        return (
            f"project name {name[:40]!r} is not allowed: start with a letter or digit, "
            "then use letters, digits, spaces, '.', '_' and '-' only"
        )
    return None


# --- Refusals -------------------------------------------------------------------


def shown(value: Any, chars: int = 40) -> str:
    """A value as an error message quotes it (its repr): short, whatever was sent."""
    text = repr(value)
    return text if len(text) <= chars else text[: chars - 1] + "\u2026"


def capped(problems: Sequence[Any], limit: int) -> tuple[list[Any], int]:
    """The first ``limit`` problems and how many more were left out."""
    return list(problems[:limit]), max(0, len(problems) - limit)


def join_capped(messages: Sequence[str], limit: int, separator: str = "; ") -> str:
    """Messages joined, the first ``limit`` of them, then "and N more"."""
    shown, more = capped(messages, limit)
    text = separator.join(shown)
    return f"{text}{separator}and {more:,} more" if more else text
