"""The limits and text checks of ``annotator.limits``: pure, no app."""

import json

import pytest

from annotator.limits import (
    DEFAULTS,
    LimitExceeded,
    Limits,
    join_capped,
    json_depth,
    parse_int,
    parse_json,
    project_name_problem,
    strings_problem,
    text_problem,
)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Forty drones над Курском 🚀", None),
        ("a\x00b", "NUL"),
        ("lone \ud800 high", "\\ud800"),
        ("lone \udfff low", "\\udfff"),
        ("\ud83d", "surrogate"),
    ],
)
def test_limits_text_problem_finds_nul_and_unpaired_surrogates(text, problem):
    found = text_problem(text)
    assert (found is None) if problem is None else (problem in found)


def test_limits_strings_problem_looks_into_keys_and_nested_values():
    assert strings_problem({"spans": [{"label": "COUNT", "value": "4\x000"}]}) is not None
    assert strings_problem({"a\ud800": 1}) is not None
    assert strings_problem({"spans": [{"label": "COUNT", "value": "40"}], "comment": "ok 🚀"}) is None


@pytest.mark.parametrize("depth", [1, 8])
def test_limits_parse_json_takes_nesting_up_to_the_limit(depth):
    raw = "[" * depth + "]" * depth
    assert json_depth(parse_json(raw, 8)) == depth


@pytest.mark.parametrize(
    "raw", ["[" * 9 + "]" * 9, '{"a":' * 50 + "1" + "}" * 50, "[" * 200_000 + "]" * 200_000, "[" * 200_000]
)
def test_limits_parse_json_refuses_deep_nesting_without_recursion_error(raw):
    with pytest.raises(LimitExceeded) as exc:
        parse_json(raw, 8)
    assert exc.value.limit == "max_json_depth" and "MAX_JSON_DEPTH" in exc.value.message


def test_limits_parse_json_refuses_integers_python_will_not_convert():
    with pytest.raises(ValueError):
        parse_json("[" + "9" * 5000 + "]", 8)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0", 0),
        ("42", 42),
        (" 7 ", 7),
        ("1000000", 1_000_000),
        ("99999999999999999999999", None),
        ("-1", None),
        ("1e3", None),
        ("0x10", None),
        ("", None),
        ("٣", None),
        ("1" * 5000, None),
        ("1000001", None),
    ],
)
def test_limits_parse_int_bounds_query_parameters(raw, expected):
    if expected is None:
        with pytest.raises(ValueError) as exc:
            parse_int(raw, "offset", 0, 1_000_000)
        assert "offset must be an integer from 0 to 1000000" in str(exc.value)
        assert len(str(exc.value)) < 200  # a long parameter is not echoed whole
    else:
        assert parse_int(raw, "offset", 0, 1_000_000) == expected


@pytest.mark.parametrize("name", ["p", "incidents", "Kursk 2024", "drones-v2.1", "über_project", "a" * 120])
def test_limits_project_name_rule_accepts(name):
    assert project_name_problem(name) is None


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "blank"),
        ("   ", "blank"),
        ("a/b", "not allowed"),
        ("a\\b", "not allowed"),
        ("a" * 121, "at most 120"),
        ("-flag", "not allowed"),
        (".hidden", "not allowed"),
        ("tab\there", "not allowed"),
        ("nul\x00", "not allowed"),
        ("line\nbreak", "not allowed"),
        ("trailing ", "not allowed"),
        ("a?b", "not allowed"),
        ("a#b", "not allowed"),
        ("%2e", "not allowed"),
    ],
)
def test_limits_project_name_rule_refuses(name, problem):
    assert problem in project_name_problem(name)


def test_limits_join_capped_counts_what_it_leaves_out():
    messages = [f"span {i}: bad" for i in range(100_000)]
    text = join_capped(messages, 20)
    assert text.endswith("; and 99,980 more") or text.endswith("; and 99980 more")
    assert len(text) < 1000
    assert join_capped(["one", "two"], 20) == "one; two"


def test_limits_settings_are_read_from_config_with_defaults():
    assert DEFAULTS["MAX_SPANS_PER_ANNOTATION"] == 200
    limits = Limits.from_config({"MAX_SPANS_PER_ANNOTATION": "5", "MAX_JSON_DEPTH": 3})
    assert (limits.max_spans_per_annotation, limits.max_json_depth, limits.max_report_chars) == (
        5,
        3,
        DEFAULTS["MAX_REPORT_CHARS"],
    )
    assert json.loads(json.dumps(DEFAULTS)) == DEFAULTS
