"""How fast the ``annotator`` command answers, against importing its two base libraries.

    python tests/benchmarks/bench_cli.py [--repeat 7]

Each figure is the median wall time of a new process, over ``--repeat`` runs:

- ``cli_help``: ``annotator --help``;
- ``cli_status``: ``annotator status --project P`` on a SQLite file holding a
  small project (the schema is current, so the check is one query);
- ``cli_users_add``: ``annotator users add`` with the password on standard input
  (a new user each run, so it hashes a password and writes);

each against ``python -c "import flask, sqlalchemy"`` timed in the same run
(``limit``; ratio 1 = no slower than loading those two).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import emit


def _median_seconds(argvs, env: dict[str, str], stdin: str | None = None) -> float:
    """Median wall time of running each command line of ``argvs`` once, as a new process."""
    times = []
    for argv in argvs:
        started = time.perf_counter()
        subprocess.run(argv, env=env, input=stdin, check=True, capture_output=True, text=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=7)
    args = p.parse_args()
    annotator = shutil.which("annotator") or str(Path(sys.executable).with_name("annotator"))
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "ANNOTATOR_INSTANCE_PATH": tmp, "ANNOTATOR_DATABASE_URL": f"sqlite:///{tmp}/bench.db"}
        env.pop("ANNOTATOR_TEST_DATABASE_URL", None)
        reports = Path(tmp) / "reports.txt"
        reports.write_text("Twelve drones were shot down over the Kursk region.\n\nA fire broke out in Belgorod.\n")
        subprocess.run(
            [annotator, "import", str(reports), "--project", "bench"], env=env, check=True, capture_output=True
        )
        n = args.repeat
        baseline = _median_seconds([[sys.executable, "-c", "import flask, sqlalchemy"]] * n, env)
        figures = {
            "cli_help": _median_seconds([[annotator, "--help"]] * n, env),
            "cli_status": _median_seconds([[annotator, "status", "--project", "bench"]] * n, env),
            # a new user each run: a password hashed and a row written
            "cli_users_add": _median_seconds(
                [[annotator, "users", "add", f"user{i}", "--password-stdin"] for i in range(n)],
                env,
                stdin="a long enough password\n",
            ),
        }
        for name, value in figures.items():
            emit(
                f"{name}_seconds_lower_better",
                value,
                "s",
                baseline,
                n=n,
                backend="sqlite",
                baseline='python -c "import flask, sqlalchemy"',
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
