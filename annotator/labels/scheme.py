"""Label schemes: the labels of a project, each with its kind (``annotator.labels.kinds``).

A scheme is data: a list of label dicts ``{name, description, colour, key, kind, retired}``
stored with the project. :func:`check_scheme` is the one rule for a valid scheme, shared by the
command line, the admin pages and the JSON API; :data:`DEFAULT_SCHEME` is the scheme a new
project gets unless it names its own.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from ..limits import text_problem

__all__ = [
    "COMMAND_KEYS",
    "DEFAULT_SCHEME",
    "MAX_LABELS",
    "Label",
    "SchemeError",
    "active_labels",
    "check_label",
    "check_scheme",
    "default_scheme",
    "format_scheme_lines",
    "lost_labels",
    "parse_scheme_lines",
]


def _typable(key: str) -> bool:
    """A key the labelling page can match to one keystroke: a letter, digit, punctuation or symbol
    of the Basic Multilingual Plane. A combining accent types nothing alone; an emoji is two
    UTF-16 units in the browser, and the form's one-character field cannot hold it."""
    return ord(key) <= 0xFFFF and unicodedata.category(key)[0] in "LNPS"


# Keys the labelling page keeps for its commands (static/keymap.js, KEYS): a label cannot take them.
# Digits pick labels by their place in the legend, so they are not free either.
COMMAND_KEYS = frozenset("ynAaxisfzZpegtkK?") | frozenset("0123456789")
MAX_LABELS = 20
MAX_LABEL_NAME_CHARS = 40
MAX_DESCRIPTION_CHARS = 500
LABEL_NAME = re.compile(r"[^\W_][\w-]*", re.UNICODE)  # a letter or digit, then letters, digits, '_' and '-'
COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
FALLBACK_COLOURS = ("#8ecae6", "#ffb703", "#95d5b2", "#cdb4db", "#f4a261", "#bde0fe", "#e9c46a", "#ffafcc")
OLD_KIND_NAMES = {"plain": "text"}  # kinds stored under an earlier name


class SchemeError(ValueError):
    """A label or scheme that breaks the rules; the message says which label and what is wrong."""


@dataclass(frozen=True)
class Label:
    name: str
    description: str
    colour: str  # CSS colour of the label's highlight, #rgb or #rrggbb
    key: str  # keyboard shortcut that picks the label ("" for none: its number in the legend still does)
    kind: str = "text"  # what its spans are: a key of annotator.labels.kinds.KINDS
    retired: bool = False  # kept for the spans that have it; offered for no new span

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


DEFAULT_SCHEME: tuple[Label, ...] = (
    Label("REGION", "A named place where the incident happened: oblast, city, district.", "#8ecae6", "r", "region"),
    Label("COUNT", "How many drones or missiles: the number itself, in digits or words.", "#ffb703", "c", "count"),
    Label(
        "OUTCOME",
        "What happened to them or because of them: destroyed, intercepted, damage, casualties.",
        "#95d5b2",
        "o",
        "category",
    ),
)


def default_scheme() -> list[dict[str, Any]]:
    return [label.to_dict() for label in DEFAULT_SCHEME]


def active_labels(scheme: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The labels of ``scheme`` offered for new spans: all but the retired ones, in scheme order."""
    return [dict(label) for label in scheme if not label.get("retired")]


def lost_labels(before: Iterable[Mapping[str, Any]], after: Iterable[Mapping[str, Any]]) -> list[str]:
    """The names of ``before``'s labels that ``after`` has no more with the same kind: renamed, deleted or given
    another kind, so a span made under ``before`` with one of them does not fit ``after``.

    Added labels, order, retirement, description, colour and key do not count (none of them leaves a
    span without its label); names compare exactly, as spans store them.
    """

    def pairs(scheme: Iterable[Mapping[str, Any]]) -> set[tuple[str, str]]:
        kinds = ((label, str(label.get("kind") or "text")) for label in scheme)
        return {(str(label.get("name")), OLD_KIND_NAMES.get(kind, kind)) for label, kind in kinds}

    kept = pairs(after)
    return [name for name, kind in sorted(pairs(before)) if (name, kind) not in kept]


def check_label(raw: Any, position: int = 0) -> Label:
    """One label from a dict (as the API, the admin form or a stored scheme give it); SchemeError if invalid.

    ``name`` and ``kind`` are required; ``description`` defaults to empty, ``colour`` to one of a
    fixed set by ``position``, ``key`` to none, ``retired`` to false. No text field may hold a NUL
    or an unpaired surrogate (``limits.text_problem``): the description is checked for them, and
    the name, kind, colour and key patterns admit neither.
    """
    from .kinds import KINDS

    where = f"label {position + 1}"
    if not isinstance(raw, Mapping):
        raise SchemeError(f"{where}: expected an object with name and kind, got {type(raw).__name__}")
    unknown = sorted(set(raw) - {"name", "kind", "description", "colour", "key", "retired"})
    if unknown:
        raise SchemeError(f"{where}: unknown field(s) {', '.join(map(repr, unknown))}")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise SchemeError(f"{where}: a label needs a name")
    name = name.strip()
    where = f"label {name[:40]!r}"
    if len(name) > MAX_LABEL_NAME_CHARS:
        raise SchemeError(f"{where}: a label name is at most {MAX_LABEL_NAME_CHARS} characters")
    if not LABEL_NAME.fullmatch(name):
        raise SchemeError(f"{where}: start with a letter or digit, then use letters, digits, '_' and '-' only")
    kind = raw.get("kind")
    if kind is not None and not isinstance(kind, str):  # a number, list or object from JSON (a list is no dict key)
        raise SchemeError(f"{where}: kind must be a string, one of {', '.join(KINDS)}; not {str(kind)[:40]}")
    kind = OLD_KIND_NAMES.get(kind, kind) if isinstance(kind, str) else kind
    if kind not in KINDS:
        raise SchemeError(f"{where}: kind must be one of {', '.join(KINDS)}, not {str(kind)[:40]!r}")
    description = raw.get("description") or ""
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION_CHARS:
        raise SchemeError(f"{where}: the description must be text of at most {MAX_DESCRIPTION_CHARS} characters")
    if (problem := text_problem(description)) is not None:
        raise SchemeError(f"{where}: the description {problem}")
    colour = raw.get("colour") or FALLBACK_COLOURS[position % len(FALLBACK_COLOURS)]
    if not isinstance(colour, str) or not COLOUR.fullmatch(colour):
        raise SchemeError(f"{where}: colour must be #rgb or #rrggbb, not {str(colour)[:20]!r}")
    key = raw.get("key") or ""
    if not isinstance(key, str) or len(key) > 1 or (key and not _typable(key)):
        raise SchemeError(
            f"{where}: key must be one character typed with one key: a letter, digit, punctuation or symbol "
            "(not a space, a combining accent or an emoji)"
        )
    if key in COMMAND_KEYS:
        raise SchemeError(
            f"{where}: key {key!r} is taken by a command of the labelling page or a label's number; "
            f"free keys are letters other than {' '.join(sorted(k for k in COMMAND_KEYS if k.isalpha()))}"
        )
    retired = raw.get("retired", False)
    if not isinstance(retired, bool):
        raise SchemeError(f"{where}: retired must be true or false")
    return Label(name, description.strip(), colour.lower(), key, kind, retired)


def check_scheme(raw: Any) -> list[dict[str, Any]]:
    """A whole scheme checked (each label by :func:`check_label`, names and keys unique); SchemeError if invalid."""
    if not isinstance(raw, list) or not raw:
        raise SchemeError("a label scheme is a non-empty list of labels")
    if len(raw) > MAX_LABELS:
        raise SchemeError(f"a label scheme has at most {MAX_LABELS} labels, not {len(raw)}")
    labels = [check_label(entry, i) for i, entry in enumerate(raw)]
    _unique((label.name.upper() for label in labels), "label name (case aside)")
    _unique((label.key for label in labels if label.key), "key")
    if all(label.retired for label in labels):
        raise SchemeError("a label scheme needs at least one label that is not retired")
    return [label.to_dict() for label in labels]


def _unique(values: Iterable[str], what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise SchemeError(f"two labels have the same {what}: {value!r}")
        seen.add(value)


# --- The scheme as lines of text (the admin's "new project" form) ----------------------------

LINE_FIELDS = ("name", "kind", "key", "colour", "description")
LINE_FORMAT = "NAME | kind | key | #colour | description"


def parse_scheme_lines(text: str) -> list[dict[str, Any]]:
    """A scheme from text with one label a line, ``NAME | kind | key | #colour | description``.

    Only name and kind are required; empty fields take :func:`check_label`'s defaults and the
    description may hold ``|`` itself. Blank lines are skipped. Returns the checked scheme
    (:func:`check_scheme`); raises SchemeError naming the line of the first bad label.
    """
    raw: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], int] = {}  # (what, value) -> the line that has it first
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split("|", len(LINE_FIELDS) - 1)]
        if len(parts) < 2:
            raise SchemeError(f"line {number}: write a label as {LINE_FORMAT} (name and kind at least)")
        entry = {field: value for field, value in zip(LINE_FIELDS, parts, strict=False) if value}
        try:
            label = check_label(entry, len(raw))
        except SchemeError as exc:
            raise SchemeError(f"line {number}: {exc}") from None
        for what, value in (("name (case aside)", label.name.upper()), ("key", label.key)):
            if value and (what, value) in seen:
                raise SchemeError(
                    f"line {number}: label {label.name!r} has the same {what} as line {seen[what, value]}"
                )
            seen.setdefault((what, value), number)
        raw.append(entry)
    return check_scheme(raw)


def format_scheme_lines(scheme: Iterable[Mapping[str, Any]]) -> str:
    """The text :func:`parse_scheme_lines` reads back as ``scheme`` (retired labels left out)."""
    lines = []
    for label in scheme:
        if label.get("retired"):
            continue
        fields = [str(label.get(field) or "") for field in LINE_FIELDS]
        lines.append(" | ".join(fields).rstrip(" |") if not fields[-1] else " | ".join(fields))
    return "\n".join(lines) + "\n"
