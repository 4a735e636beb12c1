"""Run every benchmark in turn, each in its own process; JSON lines go to stdout.

    python tests/benchmarks/run_all.py [--size N] [--database-url URL] [--quick]

``--quick`` runs small sizes (a smoke test of the benchmarks themselves, a
few minutes); without it, the sizes of docs/performance.md (about an hour on
a 2-CPU machine, most of it the memory runs at 1,000,000 sentences).
Benchmarks print; they never assert a time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=100_000)
    p.add_argument("--database-url", default=os.environ.get("ANNOTATOR_TEST_DATABASE_URL"))
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    size = 5_000 if args.quick else args.size
    db = ["--database-url", args.database_url] if args.database_url else []
    runs = [
        ["bench_import.py", "--size", str(size), *db],
        ["bench_export.py", "--size", str(size), *db],
        ["bench_agreement.py", "--size", str(size)],
        ["bench_memory.py", "--sizes", "5000,20000" if args.quick else "100000,1000000", "--only", "import"],
        ["bench_memory.py", "--sizes", "5000,20000" if args.quick else "100000,300000", "--only", "export"],
        ["bench_roundtrip.py", "--rounds", "100" if args.quick else "1000", *db],
        ["bench_server.py", "--size", "2000" if args.quick else "10000", *db],
        ["bench_bare_roundtrip.py", "--rounds", "100" if args.quick else "500", *db],
        ["bench_request_cpu.py", "--rounds", "100" if args.quick else "300", *db],
        ["bench_cluster.py", "--seconds", "15" if args.quick else "40", *db],
        ["bench_queue_sql.py", "--size", "3000" if args.quick else "300000", *db],
        [
            "bench_browse.py",
            "--size",
            "5000" if args.quick else "1000000",
            "--repeat",
            "3" if args.quick else "10",
            *db,
        ],
        ["bench_page.py", "--repeat", "2" if args.quick else "5"],
        ["bench_cli.py", "--repeat", "3" if args.quick else "7"],
        ["bench_login.py", "--repeat", "10" if args.quick else "30", *db],
        ["bench_active.py", *(["--quick"] if args.quick else [])],
    ]
    failed = 0
    for run in runs:
        started = time.perf_counter()
        result = subprocess.run([sys.executable, str(HERE / run[0]), *run[1:]], cwd=HERE)
        print(
            f"# {' '.join(run)}: exit {result.returncode} after {time.perf_counter() - started:.0f} s",
            file=sys.stderr,
            flush=True,
        )
        failed += result.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
