"""Label behaviour follows a label's kind, never its name."""

import re
from pathlib import Path

import pytest

from annotator.labels.kinds import KINDS, TEXT, kind_of, labels_of_kind
from annotator.labels.normalise import normalise
from annotator.labels.scheme import DEFAULT_SCHEME, default_scheme

REPO = Path(__file__).resolve().parents[1]


def test_label_kinds_of_the_default_scheme():
    assert {label.name: label.kind for label in DEFAULT_SCHEME} == {
        "REGION": "region",
        "COUNT": "count",
        "OUTCOME": "category",
    }
    assert all(label["kind"] in KINDS for label in default_scheme())


def test_label_kinds_a_renamed_label_keeps_its_behaviour():
    scheme = [
        {"name": "PLACE", "kind": "region"},
        {"name": "HOW_MANY", "kind": "count"},
        {"name": "NOTE", "kind": TEXT},
    ]
    assert normalise("PLACE", "Kiev", scheme=scheme) == "Kyiv"
    assert normalise("HOW_MANY", "forty", scheme=scheme) == "40"
    assert normalise("NOTE", "forty", scheme=scheme) is None
    assert labels_of_kind("region", scheme) == ["PLACE"]


def test_label_kinds_come_from_the_scheme_never_from_the_name():
    assert kind_of("region", [{"name": "REGION", "kind": "region"}]) == "region"  # any case
    assert kind_of("REGION", [{"name": "REGION", "kind": "plain"}]) == TEXT  # the kind's earlier name
    assert kind_of("REGION", [{"name": "PLACE", "kind": "region"}]) == TEXT  # not in the scheme: no value
    assert kind_of("REGION", [{"name": "REGION"}]) == TEXT  # migration 0006 gave every stored label its kind
    assert kind_of("REGION") == "region"  # the default scheme


def test_label_kinds_rule_suggester_names_spans_by_kind(nlp):
    from annotator.labels.suggest import RuleSuggester

    scheme = [{"name": "PLACE", "kind": "region"}, {"name": "N", "kind": "count"}]
    found = RuleSuggester(nlp, scheme=scheme).suggest("Forty drones over Kharkiv were destroyed.")
    assert {(s.label, s.value) for s in found} == {("N", "40"), ("PLACE", "Kharkiv Oblast")}


@pytest.mark.parametrize("path", sorted((REPO / "annotator").rglob("*.py")), ids=lambda p: str(p.relative_to(REPO)))
def test_label_kinds_no_python_compares_a_label_name(path):
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"""[=!]=\s*["'](REGION|COUNT|OUTCOME)["']|["'](REGION|COUNT|OUTCOME)["']\s*[=!]=""", text)


@pytest.mark.parametrize("path", sorted((REPO / "static").glob("*.js")), ids=lambda p: str(p.relative_to(REPO)))
def test_label_kinds_no_script_compares_a_label_name(path):
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"""[=!]==?\s*["'](REGION|COUNT|OUTCOME)["']|["'](REGION|COUNT|OUTCOME)["']\s*[=!]==?""", text)
