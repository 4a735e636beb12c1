"""The corpus browser's query (annotator.services.browse): every filter, keyset pages, on both backends."""

import random

import pytest
from sqlalchemy import func, select
from sqlalchemy import text as text_sql

from annotator.metrics.disagreements import sentence_disagreements
from annotator.models import Annotation, GoldAnnotation, Report, Sentence, Span
from annotator.services.browse import BadFilter, Filters, browse_sentences
from annotator.services.projects import get_or_create_project
from annotator.services.rows import project_records
from annotator.services.users import get_or_create_annotator
from tests.helpers import build_project, space_tokens

MORE = [
    "Nothing happened 100% of the time .",  # s5: unlabelled
    "Five drones hit Sumy .",  # s6: ann and bob agree exactly; gold
    "Six drones hit Odesa .",  # s7: same spans, another value
]


@pytest.fixture
def corpus(db):
    """tests.helpers.build_project (s1..s4) plus a second report (s5..s7); sentence ids by name.

    s1 boundary conflict (ann, bob, cy), s2 flagged by bob with a presence conflict, s3 presence
    conflict (its text holds a script tag), s4 one annotator, s5 unlabelled, s6 agreed with gold,
    s7 a value conflict.
    """
    ids = build_project(db)
    project, _ = get_or_create_project(db, "incidents")
    report = Report(project_id=project.id, text="\n".join(MORE), content_hash="y" * 64, meta={})
    db.add(report)
    db.flush()
    for position, text in enumerate(MORE):
        sentence = Sentence(
            project_id=project.id,
            report_id=report.id,
            position=position,
            start_char=0,
            text=text,
            tokens=space_tokens(text),
        )
        db.add(sentence)
        db.flush()
        ids[f"s{position + 5}"] = sentence.id
    ann, bob = get_or_create_annotator(db, "ann"), get_or_create_annotator(db, "bob")
    for user in (ann, bob):
        a = Annotation(sentence_id=ids["s6"], user_id=user.id, status="done")
        a.spans = [Span(start_char=0, end_char=4, label="COUNT", value="5")]
        db.add(a)
    for user, value in ((ann, "Odesa"), (bob, "Odessa")):
        a = Annotation(sentence_id=ids["s7"], user_id=user.id, status="done")
        a.spans = [Span(start_char=15, end_char=20, label="REGION", value=value)]
        db.add(a)
    db.add(GoldAnnotation(sentence_id=ids["s6"]))
    db.commit()
    return project, ids


def _found(db, project, **filters) -> list[int]:
    return [row.sentence_id for row in browse_sentences(db, project, Filters(**filters), page_size=100).rows]


def _named(ids, *names):
    return [ids[name] for name in names]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ("s1", "s2", "s3", "s4", "s5", "s6", "s7")),
        ({"text": "drones"}, ("s1", "s6", "s7")),
        ({"text": "DRONES HIT"}, ("s1", "s6", "s7")),  # case-insensitive
        ({"text": "100%"}, ("s5",)),  # % and _ are literal characters
        ({"text": "_"}, ()),
        ({"text": "<script>"}, ("s3",)),
        ({"text": 'drones "hit'}, ()),  # a double quote is a character, not FTS syntax
        ({"text": "OR"}, ()),  # nor is an FTS operator
        ({"text": "hit sumy"}, ("s6",)),
        ({"state": "unlabelled"}, ("s5",)),
        ({"state": "in_progress"}, ("s4",)),
        ({"state": "complete"}, ("s1", "s2", "s3", "s6", "s7")),
        ({"state": "flagged"}, ("s2",)),
        ({"state": "gold"}, ("s6",)),
        ({"annotator": "bob"}, ("s1", "s2", "s3", "s6", "s7")),
        ({"annotator": "cy"}, ("s1",)),  # cy's skip of s2 does not count
        ({"label": "OUTCOME"}, ("s2",)),
        ({"label": "REGION"}, ("s1", "s2", "s3", "s7")),
        ({"label": "COUNT"}, ("s1", "s2", "s4", "s6")),  # cy's skipped COUNT on s2 does not count, ann's does
        ({"disagreement": True}, ("s1", "s2", "s3", "s7")),
        ({"disagreement": True, "annotator": "cy"}, ("s1",)),
        ({"disagreement": True, "label": "REGION", "text": "odesa"}, ("s3", "s7")),
        ({"state": "complete", "disagreement": True, "label": "OUTCOME"}, ("s2",)),
    ],
)
def test_browse_filters(db, corpus, filters, expected):
    project, ids = corpus
    assert _found(db, project, **filters) == _named(ids, *expected)


def test_browse_rows_carry_state_annotators_flag_and_gold(db, corpus):
    project, ids = corpus
    rows = {row.sentence_id: row for row in browse_sentences(db, project).rows}
    assert rows[ids["s2"]].annotators == ("ann", "bob") and rows[ids["s2"]].flagged
    assert rows[ids["s1"]].annotators == ("ann", "bob", "cy") and rows[ids["s1"]].state == "complete"
    assert rows[ids["s4"]].state == "in_progress" and rows[ids["s5"]].state == "unlabelled"
    assert rows[ids["s6"]].gold and not rows[ids["s1"]].gold


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"state": "done"}, "state is one of"),
        ({"annotator": "nobody"}, "no user called 'nobody'"),
        ({"label": "WEAPON"}, "no label 'WEAPON'"),
    ],
)
def test_browse_unknown_filter_values_are_refused(db, corpus, filters, message):
    project, _ = corpus
    with pytest.raises(BadFilter, match=message):
        browse_sentences(db, project, Filters(**filters))


def test_browse_disagreement_is_the_metrics_conflict_on_random_annotations(db):
    """The SQL filter against sentence_disagreements, over random versions (values, skips, flags, no spans)."""
    rng = random.Random(7)
    project, _ = get_or_create_project(db, "random", annotators_per_sentence=3)
    report = Report(project_id=project.id, text="x", content_hash="r" * 64, meta={})
    db.add(report)
    db.flush()
    names = [get_or_create_annotator(db, f"r{i}") for i in range(4)]
    pool = [(0, 3, "COUNT"), (0, 3, "REGION"), (4, 9, "REGION"), (4, 12, "REGION"), (10, 12, "OUTCOME")]
    for position in range(120):
        sentence = Sentence(
            project_id=project.id, report_id=report.id, position=position, start_char=0, text="abc defgh ijk", tokens=[]
        )
        db.add(sentence)
        db.flush()
        for user in rng.sample(names, rng.randint(0, 4)):
            status = rng.choice(["done", "done", "done", "flagged", "skipped"])
            a = Annotation(sentence_id=sentence.id, user_id=user.id, status=status)
            chosen = rng.sample(pool, rng.choice([0, 1, 1, 2]))
            a.spans = [Span(start_char=s, end_char=e, label=lab, value=rng.choice([None, "v"])) for s, e, lab in chosen]
            db.add(a)
    db.commit()
    records = project_records(db, project)
    by_sentence: dict[int, list] = {}
    for a in records.annotations:
        by_sentence.setdefault(a.sentence_id, []).append(a)
    expected = [
        s.id for s in records.sentences if sentence_disagreements(s.text, by_sentence.get(s.id, []))["conflicts"]
    ]
    found = _found(db, project, disagreement=True)
    assert 10 < len(expected) < 110  # both kinds present
    assert found == expected


def _walk(db, project, filters, size):
    """Every page forward, then every page backward from the last one: the ids seen each way."""
    forward, pages, after = [], [], None
    while True:
        page = browse_sentences(db, project, filters, after=after, page_size=size)
        forward += [r.sentence_id for r in page.rows]
        pages.append(page)
        assert (page.previous is None) == (after is None)
        if page.next is None:
            break
        after = page.next
    backward, before = [], pages[-1].previous
    while before is not None:
        page = browse_sentences(db, project, filters, before=before, page_size=size)
        assert page.next is not None
        backward = [r.sentence_id for r in page.rows] + backward
        before = page.previous
    return forward, backward + [r.sentence_id for r in pages[-1].rows], len(pages)


@pytest.mark.parametrize("size", [1, 2, 3, 7])
def test_browse_pages_lose_and_repeat_nothing(db, size):
    """Reports of 5 sentences: page edges fall between sentences of one report (ties on report_id)."""
    project, _ = get_or_create_project(db, "paged")
    expected = []
    for r in range(4):
        report = Report(project_id=project.id, text=f"r{r}", content_hash=f"{r:064d}", meta={})
        db.add(report)
        db.flush()
        # Positions inserted out of order, so ids do not follow reading order.
        for position in (3, 0, 4, 1, 2):
            text = f"report {r} sentence {position}" + (" drones" if (r + position) % 2 else "")
            db.add(
                Sentence(
                    project_id=project.id, report_id=report.id, position=position, start_char=0, text=text, tokens=[]
                )
            )
    db.commit()
    expected = list(
        db.execute(
            select(Sentence.id, Sentence.text)
            .where(Sentence.project_id == project.id)
            .order_by(Sentence.report_id, Sentence.position)
        )
    )
    for filters, wanted in (
        (Filters(), [i for i, _ in expected]),
        (Filters(text="drones"), [i for i, t in expected if "drones" in t]),
    ):
        forward, backward, n_pages = _walk(db, project, filters, size)
        assert forward == wanted
        assert backward == wanted
        assert n_pages == -(-len(wanted) // size)


def test_browse_empty_project_and_a_cursor_past_the_end(db):
    project, _ = get_or_create_project(db, "empty")
    db.commit()
    page = browse_sentences(db, project)
    assert page.rows == [] and page.previous is None and page.next is None
    page = browse_sentences(db, project, after=(2**31 - 1, 2**31 - 1))
    assert page.rows == []
    with pytest.raises(ValueError, match="not both"):
        browse_sentences(db, project, after=(1, 1), before=(2, 2))


def test_browse_text_index_follows_inserts_and_deletes(db, corpus):
    """The trigram index (SQLite's sentences_text, kept by triggers) never answers for a sentence that is gone."""
    project, ids = corpus
    assert _found(db, project, text="odesa") == _named(ids, "s3", "s7")
    db.delete(db.get(Sentence, ids["s7"]))
    report = db.get(Report, db.get(Sentence, ids["s6"]).report_id)
    text = "Eight drones hit Odesa port ."
    db.add(Sentence(project_id=project.id, report_id=report.id, position=9, start_char=0, text=text, tokens=[]))
    db.commit()
    found = _found(db, project, text="odesa")
    assert found[0] == ids["s3"] and len(found) == 2
    assert db.get(Sentence, found[1]).text == text
    if db.get_bind().dialect.name == "sqlite":
        indexed = db.execute(text_sql("SELECT count(*) FROM sentences_text")).scalar()
        assert indexed == db.scalar(select(func.count()).select_from(Sentence))


def test_browse_flagged_follows_each_status_change_of_an_annotation(db, corpus):
    """``Sentence.flagged`` (the filter's index) is kept by the recount: flag, unflag, skip, delete."""
    project, ids = corpus
    annotation = db.scalar(select(Annotation).where(Annotation.sentence_id == ids["s4"]))
    sentence = db.get(Sentence, ids["s4"])
    assert _found(db, project, state="flagged") == _named(ids, "s2") and not sentence.flagged
    steps = (("flagged", ("s2", "s4")), ("done", ("s2",)), ("flagged", ("s2", "s4")), ("skipped", ("s2",)))
    for status, flagged in steps:
        annotation.status = status
        db.flush()
        assert _found(db, project, state="flagged") == _named(ids, *flagged), status
        assert sentence.flagged == ("s4" in flagged)
    annotation.status = "flagged"
    db.flush()
    db.delete(annotation)
    db.flush()
    assert _found(db, project, state="flagged") == _named(ids, "s2") and not sentence.flagged
