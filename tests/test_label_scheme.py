"""The one rule for a label scheme: what the CLI, the admin pages and the API accept."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from annotator.labels.kinds import KINDS, kind_of
from annotator.labels.scheme import (
    COMMAND_KEYS,
    SchemeError,
    check_label,
    check_scheme,
    default_scheme,
    lost_labels,
)

KEYMAP = Path(__file__).resolve().parents[1] / "static" / "keymap.js"


def test_default_scheme_passes_its_own_rule():
    assert check_scheme(default_scheme()) == default_scheme()


def test_a_fourth_label_of_kind_text_gets_defaults():
    scheme = check_scheme([*default_scheme(), {"name": "WEAPON", "kind": "text"}])
    weapon = scheme[-1]
    assert weapon["name"] == "WEAPON" and weapon["kind"] == "text" and weapon["key"] == ""
    assert re.fullmatch(r"#[0-9a-f]{6}", weapon["colour"]) and weapon["retired"] is False


def test_the_old_kind_name_plain_reads_as_text():
    assert check_label({"name": "NOTE", "kind": "plain"}).kind == "text"
    assert kind_of("NOTE", [{"name": "NOTE", "kind": "plain"}]) == "text"


@pytest.mark.parametrize(
    ("scheme", "message"),
    [
        ([], "non-empty list"),
        ("REGION", "non-empty list"),
        ([{"name": "A", "kind": "text"}] * 21, "at most 20"),
        ([{"kind": "text"}], "label 1: a label needs a name"),
        ([{"name": "a/b", "kind": "text"}], "'a/b': start with a letter"),
        ([{"name": "X" * 41, "kind": "text"}], "at most 40"),
        ([{"name": "X", "kind": "weapon"}], "kind must be one of"),
        ([{"name": "X", "kind": 3}], "kind must be a string, one of region, count, category, text; not 3"),
        ([{"name": "X", "kind": ["text"]}], "category, text; not ['text']"),
        ([{"name": "X", "kind": {"name": "text"}}], "kind must be a string"),
        ([{"name": "X", "kind": "text", "colour": "red"}], "colour must be"),
        ([{"name": "X", "kind": "text", "key": "ab"}], "key must be one character typed with one key"),
        ([{"name": "X", "kind": "text", "key": "\u0301"}], "not a space, a combining accent or an emoji"),
        ([{"name": "X", "kind": "text", "key": "\U0001f680"}], "key must be one character typed with one key"),
        ([{"name": "X", "kind": "text", "key": " "}], "key must be one character typed with one key"),
        ([{"name": "X", "kind": "text", "key": "a"}], "taken by a command"),
        ([{"name": "X", "kind": "text", "key": "1"}], "taken by a command"),
        ([{"name": "X", "kind": "text", "retired": "no"}], "retired must be"),
        ([{"name": "X", "kind": "text", "size": 3}], "unknown field"),
        ([{"name": "X", "kind": "text"}, {"name": "x", "kind": "count"}], "same label name"),
        ([{"name": "X", "kind": "text", "key": "w"}, {"name": "Y", "kind": "text", "key": "w"}], "same key"),
        ([{"name": "X", "kind": "text", "retired": True}], "not retired"),
        ([3], "expected an object"),
        ([{"name": "X", "kind": "text", "description": "a\ud800b"}], "description holds an unpaired surrogate \\ud800"),
        ([{"name": "X", "kind": "text", "description": "a\x00b"}], "description holds a NUL character"),
        ([{"name": "X\udc00", "kind": "text"}], "start with a letter"),
        ([{"name": "X\x00", "kind": "text"}], "start with a letter"),
        ([{"name": "X", "kind": "text\udc00"}], "kind must be one of"),
        ([{"name": "X", "kind": "text", "colour": "#fff\x00"}], "colour must be"),
        ([{"name": "X", "kind": "text", "key": "\ud800"}], "key must be one character typed with one key"),
        ([{"name": "X", "kind": "text", "key": "\x00"}], "key must be one character typed with one key"),
    ],
)
def test_a_broken_scheme_is_refused_with_the_reason(scheme, message):
    with pytest.raises(SchemeError, match=re.escape(message)):
        check_scheme(scheme)


def test_command_keys_are_the_labelling_pages_keys():
    """A label's key must not shadow a command: the Python rule and static/keymap.js list the same keys."""
    block = re.search(r"export const KEYS = \{(.*?)\};", KEYMAP.read_text(), re.S).group(1)
    single = {m.group(1) or m.group(2) for m in re.finditer(r'^\s*(?:"(.)"|(\w)):', block, re.M)}
    single = {k for k in single if len(k) == 1}
    assert single and single == {k for k in COMMAND_KEYS if not k.isdigit()}


def test_every_kind_is_accepted():
    for i, kind in enumerate(KINDS):
        assert check_label({"name": f"L{i}", "kind": kind}).kind == kind


def _changed(**changes):
    """The default scheme with changes to its labels, by name: a dict of fields, or None to delete it."""
    scheme = []
    for label in default_scheme():
        change = changes.get(label["name"], {})
        if change is not None:
            scheme.append({**label, **change})
    return scheme


@pytest.mark.parametrize(
    ("after", "lost"),
    [
        (_changed(), []),
        (_changed(REGION={"description": "Where.", "colour": "#000", "key": "w"}), []),
        (_changed(OUTCOME={"retired": True}), []),
        (list(reversed(default_scheme())), []),
        ([*default_scheme(), {"name": "WEAPON", "kind": "text"}], []),
        (_changed(REGION={"name": "PLACE"}), ["REGION"]),
        (_changed(REGION={"name": "region"}), ["REGION"]),  # spans store the name as it was
        (_changed(OUTCOME=None), ["OUTCOME"]),
        (_changed(OUTCOME={"kind": "text"}), ["OUTCOME"]),
        (_changed(REGION={"name": "COUNT2"}, COUNT={"name": "REGION"}), ["COUNT", "REGION"]),
    ],
)
def test_lost_labels_are_the_renamed_deleted_and_rekinded_ones(after, lost):
    assert lost_labels(default_scheme(), after) == lost


def test_lost_labels_reads_an_old_kind_name_as_its_new_one():
    assert lost_labels([{"name": "NOTE", "kind": "plain"}], [{"name": "NOTE", "kind": "text"}]) == []
