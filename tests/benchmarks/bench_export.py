"""Export throughput: documents per second into spaCy DocBins.

Two bare loops over the same sentences and their (already resolved)
majority spans, each Doc carrying the user data an export gives it
(project, report and sentence ids, gold source, values), give the limits:

- ``naive``: ``nlp.make_doc`` + ``Doc.char_span(strict)`` + ``Doc.set_ents``
  + ``DocBin(store_user_data=True).add`` + ``DocBin.to_bytes``: spaCy's own
  ``add`` packs each Doc's user data with ``srsly.msgpack_dumps``, which
  builds a new msgpack Packer (and looks its encoders up in catalogue) per Doc;
- ``reused_packer`` (the real limit): the same, with the user data packed by
  one reused Packer into the same DocBin format (what ``DocBin.from_disk``
  reads back).

Figures, each against the reused-packer limit (``limit``) and the naive
loop (``naive_limit``, ``naive_ratio``), from the same run:

- ``export.build_export``: ``annotator.export.build.build_export`` on plain records
  (3 annotators per sentence, majority policy), no database.
- ``export.<backend>.export_project``: ``services.exports.export_project``
  from a database holding the same annotations, files written and fsynced
  (it also reads the rows, writes annotations.jsonl and tallies agreement,
  which the bare loops do not).
- ``export.limit.reused_packer``: the reused-packer loop against the naive one.

Peak memory of the same export is ``bench_memory.py --only export``.

    python tests/benchmarks/bench_export.py [--size N] [--database-url URL]
"""

from __future__ import annotations

import random
import tempfile
import time
from collections import Counter
from pathlib import Path

import _common as c

ANNOTATORS = ("ann_a", "ann_b", "ann_c")


def corpus(n: int, seed: int = 0):
    """(sentences, annotations, majority spans by sentence id) as plain records.

    Each annotator keeps each true span with probability 0.9, so most spans
    have a majority and some do not.
    """
    from annotator.records import AnnotationRecord, SentenceRecord, SpanRecord

    rng = random.Random(seed + 1)
    sentences, annotations, majority = [], [], {}
    sid = 0
    for rid, (_, parts) in enumerate(c.reports(n, seed), start=1):
        for position, (text, _, spans) in enumerate(parts):
            sid += 1
            sentences.append(SentenceRecord(id=sid, report_id=rid, position=position, text=text))
            votes = Counter()
            for name in ANNOTATORS:
                kept = tuple(SpanRecord(s, e, label) for s, e, label in spans if rng.random() < 0.9)
                votes.update((x.start_char, x.end_char, x.label) for x in kept)
                annotations.append(AnnotationRecord(sid, name, "done", kept))
            majority[sid] = sorted(k for k, v in votes.items() if v >= 2)
    return sentences, annotations, majority


def bare_export(nlp, sentences, majority, reuse_packer: bool = False) -> tuple[float, int]:
    """Seconds for make_doc + char_span + set_ents + DocBin + to_bytes; docs made.

    ``reuse_packer``: pack each Doc's user data with one msgpack Packer instead
    of ``DocBin.add``'s ``srsly.msgpack_dumps`` per Doc (the same bytes).
    """
    import srsly
    from spacy.tokens import DocBin

    started = time.perf_counter()
    docbin = DocBin(store_user_data=not reuse_packer)
    packer = srsly.msgpack.Packer(use_bin_type=True)
    packed = []
    for sentence in sentences:
        doc = nlp.make_doc(sentence.text)
        doc.set_ents(
            [doc.char_span(s, e, label, alignment_mode="strict") for s, e, label in majority[sentence.id]],
            default="outside",
        )
        doc.user_data.update(
            project="bench", report_id=sentence.report_id, sentence_id=sentence.id, gold_source="majority", values={}
        )
        docbin.add(doc)
        if reuse_packer:
            packed.append(packer.pack(doc.user_data))
    if reuse_packer:
        docbin.store_user_data, docbin.user_data = True, packed
    data = docbin.to_bytes()
    elapsed = time.perf_counter() - started
    assert data
    return elapsed, len(docbin)


def app_build_export(nlp, sentences, annotations) -> tuple[float, int]:
    from annotator.export.build import build_export

    started = time.perf_counter()
    result = build_export(nlp, sentences, annotations, {}, project="bench", labels=["REGION", "COUNT", "OUTCOME"])
    elapsed = time.perf_counter() - started
    return elapsed, result.n_docs


def populate(url: str, sentences, annotations, chunk: int = 20_000) -> None:
    """Write the records into a migrated database with Core bulk inserts (not timed)."""
    from sqlalchemy import insert

    from annotator import db as database
    from annotator.models import Annotation, Project, Report, Sentence, Span, User, utcnow
    from annotator.services.projects import default_scheme

    engine = database.make_engine(url)
    now = utcnow()
    with engine.begin() as connection:
        connection.execute(
            insert(Project.__table__),
            [
                {
                    "id": 1,
                    "name": "bench",
                    "lang": "en",
                    "labels": default_scheme(),
                    "annotators_per_sentence": 3,
                    "restricted": False,
                    "routing": "none",
                    "created_at": now,
                }
            ],
        )
        connection.execute(
            insert(User.__table__),
            [
                {
                    "id": i,
                    "username": name,
                    "role": "annotator",
                    "active": True,
                    "session_token": f"tok{i}",
                    "failed_logins": 0,
                    "created_at": now,
                }
                for i, name in enumerate(ANNOTATORS, start=1)
            ],
        )
        user_ids = {name: i for i, name in enumerate(ANNOTATORS, start=1)}
        report_ids = sorted({s.report_id for s in sentences})
        for first in range(0, len(report_ids), chunk):
            connection.execute(
                insert(Report.__table__),
                [
                    {
                        "id": r,
                        "project_id": 1,
                        "number": r,
                        "meta": {},
                        "text": f"report {r}",
                        "content_hash": f"{r:064d}",
                        "created_at": now,
                    }
                    for r in report_ids[first : first + chunk]
                ],
            )
        for first in range(0, len(sentences), chunk):
            connection.execute(
                insert(Sentence.__table__),
                [
                    {
                        "id": s.id,
                        "project_id": 1,
                        "report_id": s.report_id,
                        "position": s.position,
                        "start_char": 0,
                        "text": s.text,
                        "tokens": [],
                        "extra_annotators": 0,
                        "needs_review": False,
                    }
                    for s in sentences[first : first + chunk]
                ],
            )
        span_id = 0
        for first in range(0, len(annotations), chunk):
            rows, span_rows = [], []
            for aid, a in enumerate(annotations[first : first + chunk], start=first + 1):
                rows.append(
                    {
                        "id": aid,
                        "sentence_id": a.sentence_id,
                        "user_id": user_ids[a.annotator],
                        "status": a.status,
                        "seconds_spent": 1.0,
                        "version": 1,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                for s in a.spans:
                    span_id += 1
                    span_rows.append(
                        {
                            "id": span_id,
                            "annotation_id": aid,
                            "start_char": s.start_char,
                            "end_char": s.end_char,
                            "label": s.label,
                            "suggested": False,
                        }
                    )
            connection.execute(insert(Annotation.__table__), rows)
            if span_rows:
                connection.execute(insert(Span.__table__), span_rows)
        if not url.startswith("sqlite"):  # explicit ids: move the sequences past them
            for table in ("projects", "users", "reports", "sentences", "annotations", "spans"):
                connection.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
    engine.dispose()


def app_export_project(url: str, out_dir: Path) -> tuple[float, int]:
    from sqlalchemy import select

    from annotator import db as database
    from annotator.models import Project
    from annotator.services.exports import export_project
    from annotator.services.unit_of_work import session_factory

    engine = database.make_engine(url)
    session = session_factory(engine)()
    project = session.scalar(select(Project).where(Project.name == "bench"))
    started = time.perf_counter()
    _, manifest = export_project(session, project, out_dir)
    elapsed = time.perf_counter() - started
    session.close()
    engine.dispose()
    return elapsed, manifest["sentences"]["exported"]


def main(argv=None) -> list[dict]:
    from annotator.corpus.text import make_nlp

    args = c.parser(__doc__.splitlines()[0]).parse_args(argv)
    nlp = make_nlp("en")
    sentences, annotations, majority = corpus(args.size)
    out = []
    for reuse in (False, True):  # warm the tokenizer's caches and msgpack's imports before timing either loop
        bare_export(nlp, sentences[:2000], majority, reuse_packer=reuse)
    naive_seconds, naive_docs = bare_export(nlp, sentences, majority)
    packer_seconds, packer_docs = bare_export(nlp, sentences, majority, reuse_packer=True)
    naive, limit = naive_docs / naive_seconds, packer_docs / packer_seconds
    limits = dict(
        limit_seconds=round(packer_seconds, 2),
        naive_limit=round(naive, 1),
        naive_ratio=None,
        naive_limit_seconds=round(naive_seconds, 2),
    )
    out.append(
        c.emit(
            "export.limit.reused_packer.docs_per_s.higher_better",
            limit,
            "docs/s",
            naive,
            n=len(sentences),
            backend="none",
            docs=packer_docs,
            seconds=round(packer_seconds, 2),
            limit_seconds=round(naive_seconds, 2),
            limit_is="naive DocBin.add loop",
        )
    )
    seconds, docs = app_build_export(nlp, sentences, annotations)
    out.append(
        c.emit(
            "export.build_export.docs_per_s.higher_better",
            docs / seconds,
            "docs/s",
            limit,
            n=len(sentences),
            backend="none",
            docs=docs,
            seconds=round(seconds, 2),
            **{**limits, "naive_ratio": round(docs / seconds / naive, 3)},
        )
    )
    with tempfile.TemporaryDirectory() as tmp:
        for backend in c.backends(args):
            with c.fresh_database(backend, args.database_url, Path(tmp)) as url:
                populate(url, sentences, annotations)
                seconds, docs = app_export_project(url, Path(tmp) / f"export-{backend}")
            out.append(
                c.emit(
                    f"export.{backend}.export_project.docs_per_s.higher_better",
                    docs / seconds,
                    "docs/s",
                    limit,
                    n=len(sentences),
                    backend=backend,
                    docs=docs,
                    seconds=round(seconds, 2),
                    **{**limits, "naive_ratio": round(docs / seconds / naive, 3)},
                )
            )
    return out


if __name__ == "__main__":
    main()
