"""The corpus browser's page query: milliseconds per page at any depth, per filter.

Fills a project with --size sentences by bulk INSERT (5 per report): the first
40% labelled by two of three annotators (done; one in 200 sentences flagged,
one in 10 with a span the other annotator lacks, one in 100 with gold), the
rest unlabelled; labelled and unlabelled sentences alternate (2 of every 5 labelled). Then times ``services.browse.browse_sentences`` (the page's
rows, its annotators and gold, and the look-back for a "previous" link) for
each filter, on the first page and on a page in the middle of the corpus,
against the limit: the bare keyset SELECT of 51 sentences at the same place
through the bare driver, with no filter.

    python tests/benchmarks/bench_browse.py --size 1000000 [--database-url URL] [--repeat 20]
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

import _common as c

ANNOTATORS = ("ann_a", "ann_b", "ann_c")
CASES = {
    "no_filter": {},
    "text_common": {"text": "kursk"},
    "text_rare": {"text": "Report 7777:"},
    "state_unlabelled": {"state": "unlabelled"},
    "state_complete": {"state": "complete"},
    "state_flagged": {"state": "flagged"},
    "state_gold": {"state": "gold"},
    "annotator": {"annotator": "ann_b"},
    "label": {"label": "OUTCOME"},
    "disagreement": {"disagreement": True},
    "annotator_label_disagreement": {"annotator": "ann_a", "label": "REGION", "disagreement": True},
}


def fill(url: str, size: int) -> tuple[int, list[tuple[int, int]]]:
    """The project id and every sentence key, after inserting the corpus."""
    from annotator import db as database
    from annotator.services.projects import get_or_create_project
    from annotator.services.users import create_user

    engine = database.make_engine(url)
    session = database.make_sessionmaker(engine)()
    project, _ = get_or_create_project(session, "bench")
    users = [create_user(session, name, "annotator", None) for name in ANNOTATORS]
    reviewer = create_user(session, "rev", "reviewer", None)
    session.commit()
    project_id, user_ids, reviewer_id = project.id, [u.id for u in users], reviewer.id
    session.close()
    engine.dispose()

    connection = c.raw_connection(url)
    q = c.placeholder(url)
    now = datetime(2026, 11, 30)
    reports, sentences, annotations, spans, gold = [], [], [], [], []
    keys = []
    sid = aid = 0
    for rid, (text, parts) in enumerate(c.reports(size), start=1):
        reports.append((rid, project_id, rid, json.dumps({}), text, f"{rid:064x}", now))
        for position, (sentence, offset, marked) in enumerate(parts):
            sid += 1
            keys.append((rid, position))
            labelled = sid % 5 < 2
            sentences.append(
                (
                    sid,
                    project_id,
                    rid,
                    position,
                    offset,
                    sentence,
                    "[]",
                    0,
                    False,
                    2 if labelled else 0,
                    2 if labelled else 0,
                    labelled and sid % 200 == 0,  # flagged by its second annotator, below
                )
            )
            if not labelled:
                continue
            first = sid % 3
            for k, user in enumerate((user_ids[first], user_ids[(first + 1) % 3])):
                aid += 1
                status = "flagged" if k == 1 and sid % 200 == 0 else "done"
                annotations.append((aid, sid, user, status, 0.0, 1, now, now))
                kept = marked if k == 0 or sid % 10 else marked[1:]
                spans.extend((aid, s, e, label, False) for s, e, label in kept)
            if sid % 100 == 0:
                gold.append((sid, sid, reviewer_id, 1, now, now))
    statements = [
        ("reports (id, project_id, number, meta, text, content_hash, created_at)", reports),
        (
            "sentences (id, project_id, report_id, position, start_char, text, tokens, extra_annotators,"
            " needs_review, annotation_count, state, flagged)",
            sentences,
        ),
        (
            "annotations (id, sentence_id, user_id, status, seconds_spent, version, created_at, updated_at)",
            annotations,
        ),
        ("spans (annotation_id, start_char, end_char, label, suggested)", spans),
        ("gold_annotations (id, sentence_id, reviewer_id, version, created_at, updated_at)", gold),
    ]
    cursor = connection.cursor()
    for into, rows in statements:
        columns = into[into.index("(") + 1 : into.index(")")].count(",") + 1
        sql = f"INSERT INTO {into} VALUES ({', '.join([q] * columns)})"
        for start in range(0, len(rows), 50_000):
            cursor.executemany(sql, rows[start : start + 50_000])
    connection.commit()
    connection.commit()
    if url.startswith("sqlite"):
        cursor.execute("ANALYZE")
        connection.commit()
    else:
        # What autovacuum does to a table that has settled: statistics, and the visibility map index-only scans need.
        connection.autocommit = True
        connection.execute("VACUUM ANALYZE")
    connection.close()
    return project_id, keys


def bare_page(url: str, project_id: int, after: tuple[int, int] | None, repeat: int) -> float:
    """Median seconds of the bare keyset SELECT of one page (51 rows) through the driver."""
    connection = c.raw_connection(url)
    q = c.placeholder(url)
    where = f"project_id = {q}" + ("" if after is None else f" AND (report_id, position) > ({q}, {q})")
    sql = (
        f"SELECT id, report_id, position, text, state FROM sentences WHERE {where}"
        " ORDER BY report_id, position LIMIT 51"
    )
    params = (project_id,) + (() if after is None else after)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        rows = connection.execute(sql, params).fetchall()
        times.append(time.perf_counter() - started)
        assert len(rows) == 51
    connection.close()
    return statistics.median(times)


def app_page(url: str, project_id: int, filters, after, repeat: int) -> tuple[float, int]:
    """Median seconds of ``browse_sentences`` for one page; rows on it."""
    from annotator import db as database
    from annotator.models import Project
    from annotator.services.browse import browse_sentences

    engine = database.make_engine(url)
    session = database.make_sessionmaker(engine)()
    project = session.get(Project, project_id)
    times, rows = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        page = browse_sentences(session, project, filters, after=after)
        times.append(time.perf_counter() - started)
        rows = len(page.rows)
        session.rollback()
    session.close()
    engine.dispose()
    return statistics.median(times), rows


def main(argv=None) -> list[dict]:
    from annotator.services.browse import Filters

    p = c.parser(__doc__.splitlines()[0], size=100_000)
    p.add_argument("--repeat", type=int, default=20)
    args = p.parse_args(argv)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in c.backends(args):
            with c.fresh_database(backend, args.database_url, Path(tmp)) as url:
                started = time.perf_counter()
                project_id, keys = fill(url, args.size)
                print(f"# {backend}: {args.size:,} sentences in {time.perf_counter() - started:.0f} s", flush=True)
                for where, after in (("first_page", None), ("middle_page", keys[len(keys) // 2])):
                    limit = bare_page(url, project_id, after, args.repeat)
                    for case, filters in CASES.items():
                        value, rows = app_page(url, project_id, Filters(**filters), after, args.repeat)
                        out.append(
                            c.emit(
                                f"browse.{backend}.{where}.{case}.lower_better",
                                value * 1000,
                                "ms",
                                limit * 1000,
                                n=args.size,
                                backend=backend,
                                rows=rows,
                                filters=filters,
                            )
                        )
    return out


if __name__ == "__main__":
    main()
