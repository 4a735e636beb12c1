"""Import throughput: sentences per second through services.corpus.import_reports.

Limit: the bare tools doing the same work in the same run: ``nlp.pipe``
sentence splitting (blank "en" + sentencizer), token offsets of each
sentence, and an ``executemany`` of plain rows into equivalent report and
sentence tables (with the same trigram text index) through the bare DB-API driver, committed once.

    python tests/benchmarks/bench_import.py [--size N] [--database-url URL]
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from pathlib import Path

import _common as c


def app_import(url: str, texts: list[str], batch_size: int = 500) -> float:
    """Seconds for import_reports of ``texts`` into a new project, committed."""
    from annotator import db as database
    from annotator.corpus.text import make_nlp
    from annotator.records import ReportRecord
    from annotator.services.corpus import import_reports
    from annotator.services.projects import get_or_create_project
    from annotator.services.unit_of_work import session_factory

    make_nlp("en")  # the pipeline is cached across imports in a server: build it outside the timing
    engine = database.make_engine(url)
    session = session_factory(engine)()
    project, _ = get_or_create_project(session, "bench")
    session.commit()
    started = time.perf_counter()
    database.write_transaction(session)
    summary = import_reports(
        session, project, "bench.txt", (ReportRecord(text=t) for t in texts), batch_size=batch_size
    )
    session.commit()
    elapsed = time.perf_counter() - started
    session.close()
    engine.dispose()
    assert summary.reports == len(texts), summary
    return elapsed, summary.sentences


# The app's reports and sentences tables, less the foreign key to projects: same
# columns, types (JSON on PostgreSQL), unique constraints, checks and indexes.
BARE_SCHEMA = [
    "CREATE TABLE bare_reports (id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, text TEXT NOT NULL, "
    "content_hash VARCHAR(64) NOT NULL, UNIQUE (project_id, content_hash))",
    "CREATE INDEX ix_bare_reports_project_id ON bare_reports (project_id)",
    "CREATE TABLE bare_sentences (id {serial} PRIMARY KEY, project_id INTEGER NOT NULL, "
    "report_id INTEGER NOT NULL REFERENCES bare_reports(id), position INTEGER NOT NULL, "
    "start_char INTEGER NOT NULL CHECK (start_char >= 0), text TEXT NOT NULL, tokens {json} NOT NULL, "
    "extra_annotators INTEGER NOT NULL DEFAULT 0 CHECK (extra_annotators >= 0), needs_review BOOLEAN NOT NULL DEFAULT false, "
    "UNIQUE (report_id, position))",
    "CREATE INDEX ix_bare_sentences_order ON bare_sentences (project_id, report_id, position)",
]
# The app's trigram text index (migration 0007) is part of the work an import does: the limit builds it too.
BARE_TEXT_INDEX = {
    "sqlite": [
        "CREATE VIRTUAL TABLE bare_sentences_text USING fts5(text, content='bare_sentences', content_rowid='id', "
        "tokenize='trigram')",
        "CREATE TRIGGER bare_sentences_text_insert AFTER INSERT ON bare_sentences BEGIN "
        "INSERT INTO bare_sentences_text(rowid, text) VALUES (new.id, new.text); END",
    ],
    "postgresql": [
        "CREATE EXTENSION IF NOT EXISTS pg_trgm",
        "CREATE INDEX ix_bare_sentences_text_trgm ON bare_sentences USING gin (text gin_trgm_ops)",
    ],
}


def bare_import(url: str, texts: list[str], batch_size: int = 500) -> tuple[float, int]:
    """Seconds for nlp.pipe + token offsets + executemany of plain rows, committed once."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    connection = c.raw_connection(url)
    serial = "INTEGER" if url.startswith("sqlite") else "SERIAL"
    cursor = connection.cursor()
    for statement in BARE_SCHEMA:
        cursor.execute(statement.format(serial=serial, json="TEXT" if url.startswith("sqlite") else "JSON"))
    for statement in BARE_TEXT_INDEX["sqlite" if url.startswith("sqlite") else "postgresql"]:
        cursor.execute(statement)
    connection.commit()
    p = c.placeholder(url)
    started = time.perf_counter()
    n = 0
    for first in range(0, len(texts), batch_size):
        batch = texts[first : first + batch_size]
        reports, sentences = [], []
        for i, doc in enumerate(nlp.pipe(batch, batch_size=64), start=first):
            reports.append((i + 1, 1, doc.text, hashlib.sha256(doc.text.encode()).hexdigest()))
            for position, sent in enumerate(doc.sents):
                tokens = [[t.idx - sent.start_char, t.idx - sent.start_char + len(t)] for t in sent if not t.is_space]
                sentences.append((1, i + 1, position, sent.start_char, sent.text, json.dumps(tokens)))
        cursor.executemany(
            f"INSERT INTO bare_reports (id, project_id, text, content_hash) VALUES ({p}, {p}, {p}, {p})", reports
        )
        cursor.executemany(
            f"INSERT INTO bare_sentences (project_id, report_id, position, start_char, text, tokens) VALUES ({p}, {p}, {p}, {p}, {p}, {p})",
            sentences,
        )
        n += len(sentences)
    connection.commit()
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed, n


def main(argv=None) -> list[dict]:
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument(
        "--repeat", type=int, default=2, help="alternate bare and app runs this often; best of each (default 2)"
    )
    args = p.parse_args(argv)
    texts = [text for text, _ in c.reports(args.size)]
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in c.backends(args):
            runs = []
            for _ in range(args.repeat):  # a fresh database each time; alternating evens out a shared machine's load
                with c.fresh_database(backend, args.database_url, Path(tmp)) as url:
                    runs.append((bare_import(url, texts), app_import(url, texts)))
            (bare_seconds, bare_n), _ = min(runs, key=lambda r: r[0][0])
            _, (app_seconds, n) = min(runs, key=lambda r: r[1][0])
            out.append(
                c.emit(
                    f"import.{backend}.sentences_per_s.higher_better",
                    n / app_seconds,
                    "sentences/s",
                    bare_n / bare_seconds,
                    n=n,
                    backend=backend,
                    seconds=round(app_seconds, 2),
                    limit_seconds=round(bare_seconds, 2),
                    reports=len(texts),
                    repeat=args.repeat,
                )
            )
    return out


if __name__ == "__main__":
    main()
