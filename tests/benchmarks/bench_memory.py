"""Peak memory (RSS) of import and export, each in a fresh subprocess.

For each size, four children report ``resource.getrusage(RUSAGE_SELF).ru_maxrss``:

- ``import``: services.corpus.import_reports of a lazily generated corpus into
  a new SQLite file (limit: the bare nlp.pipe + executemany of bench_import,
  also batched by 500 reports);
- ``export``: services.exports.export_project from a SQLite file holding
  N sentences x 3 annotators (filled by the parent, not measured); limit: a
  bare streaming loop over the same rows (cursor iteration, majority by
  Counter, make_doc + char_span + DocBin without user data, written as a
  shard of 10,000 Docs whenever one fills, as the export does).

A ``baseline`` child (imports only) gives the floor. If memory is flat, the
peak barely moves from 100k to 1M sentences; if it grows linearly, the
``mb_per_100k`` field says by how much.

    python tests/benchmarks/bench_memory.py [--sizes 100000,1000000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common as c

HERE = Path(__file__).resolve().parent


def child(mode: str, size: int, url: str, out: str) -> None:
    if mode == "baseline":
        import annotator.services.corpus  # noqa: F401
        import annotator.services.exports  # noqa: F401
        from annotator.corpus.text import make_nlp

        make_nlp("en")
    elif mode == "import":
        from annotator import db as database
        from annotator.records import ReportRecord
        from annotator.services.corpus import import_reports
        from annotator.services.projects import get_or_create_project
        from annotator.services.unit_of_work import session_factory

        engine = database.make_engine(url)
        session = session_factory(engine)()
        project, _ = get_or_create_project(session, "bench")
        database.write_transaction(session)
        import_reports(session, project, "bench.txt", (ReportRecord(text=t) for t, _ in c.reports(size)))
        session.commit()
    elif mode == "import-bare":
        import bench_import

        bench_import.bare_import(url, _LazyTexts(size))
    elif mode == "export":
        import bench_export

        bench_export.app_export_project(url, Path(out))
    elif mode == "export-bare":
        bare_export_streaming(url, Path(out))
    print(json.dumps({"peak_rss_mb": c.peak_rss_mb()}))


class _LazyTexts:
    """A sliceable view of the synthetic corpus that never holds all texts (for bare_import)."""

    def __init__(self, size: int):
        self.size = size
        self.reports = (size + 4) // 5
        self._iter = (t for t, _ in c.reports(size))

    def __len__(self):
        return self.reports

    def __getitem__(self, s: slice):
        return [t for _, t in zip(range(s.start, min(s.stop, self.reports)), self._iter)]


def bare_export_streaming(url: str, out_dir: Path) -> None:
    from collections import Counter

    from spacy.tokens import DocBin

    from annotator.corpus.text import make_nlp

    nlp = make_nlp("en")
    connection = c.raw_connection(url)
    cursor = connection.cursor()
    cursor.execute(
        "SELECT s.id, s.text, sp.start_char, sp.end_char, sp.label FROM sentences s "
        "JOIN annotations a ON a.sentence_id = s.id LEFT JOIN spans sp ON sp.annotation_id = a.id "
        "ORDER BY s.id"
    )
    shards = out_dir / "train.spacy"
    shards.mkdir(parents=True, exist_ok=True)
    docbin, written = DocBin(), 0
    current, text, votes = None, None, Counter()

    def write_shard():
        nonlocal docbin, written
        (shards / f"{written:03d}.spacy").write_bytes(docbin.to_bytes())
        docbin, written = DocBin(), written + 1

    def flush():
        doc = nlp.make_doc(text)
        spans = [
            doc.char_span(s, e, lab, alignment_mode="strict") for (s, e, lab), v in sorted(votes.items()) if v >= 2
        ]
        doc.set_ents([s for s in spans if s is not None], default="outside")
        docbin.add(doc)
        if len(docbin) == 10_000:
            write_shard()

    for sid, stext, start, end, label in cursor:
        if sid != current:
            if current is not None:
                flush()
            current, text, votes = sid, stext, Counter()
        if label is not None:
            votes[(start, end, label)] += 1
    if current is not None:
        flush()
    if len(docbin):
        write_shard()
    connection.close()


def run_child(mode: str, size: int, url: str, out: str) -> tuple[float, float]:
    started = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            mode,
            "--size",
            str(size),
            "--url",
            url,
            "--out",
            out,
        ],
        capture_output=True,
        text=True,
        cwd=HERE,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{mode} child failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])["peak_rss_mb"], time.perf_counter() - started


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="100000,1000000")
    p.add_argument("--only", default="import,export", help="import, export or both")
    p.add_argument("--child")
    p.add_argument("--size", type=int)
    p.add_argument("--url")
    p.add_argument("--out")
    args = p.parse_args(argv)
    if args.child:
        child(args.child, args.size, args.url, args.out)
        return []
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        baseline, _ = run_child("baseline", 0, "", "")
        firsts = {}
        for size in [int(s) for s in args.sizes.split(",")]:
            if "import" in args.only:
                with c.fresh_database("sqlite", None, tmp) as url:
                    app, app_s = run_child("import", size, url, "")
                with c.fresh_database("sqlite", None, tmp) as url:
                    bare, bare_s = run_child("import-bare", size, url, "")
                firsts.setdefault("import", (size, app))
                out.append(emit("import", size, app, bare, baseline, firsts, app_s, bare_s))
            if "export" in args.only:
                import bench_export

                with c.fresh_database("sqlite", None, tmp) as url:
                    sentences, annotations, _ = bench_export.corpus(size)
                    bench_export.populate(url, sentences, annotations)
                    del sentences, annotations
                    app, app_s = run_child("export", size, url, str(tmp / f"export-{size}"))
                    bare, bare_s = run_child("export-bare", size, url, str(tmp / f"bare-{size}"))
                firsts.setdefault("export", (size, app))
                out.append(emit("export", size, app, bare, baseline, firsts, app_s, bare_s))
    return out


def emit(kind, size, app, bare, baseline, firsts, app_s, bare_s):
    first_size, first_mb = firsts[kind]
    growth = (app - first_mb) / (size - first_size) * 100_000 if size != first_size else None
    return c.emit(
        f"memory.{kind}.peak_rss_mb.lower_better",
        app,
        "MB",
        bare,
        n=size,
        backend="sqlite",
        baseline_mb=round(baseline, 1),
        mb_per_100k=None if growth is None else round(growth, 1),
        seconds=round(app_s, 1),
        limit_seconds=round(bare_s, 1),
    )


if __name__ == "__main__":
    main()
