"""CPU time of one labelling request, in process: annotator against the bare function and against Flask alone.

The served benchmarks (``bench_bare_roundtrip.py``) measure wall time through gunicorn and an
HTTP client, whose own cost is most of the bare function's figure and swings with the machine's
load. This one takes them out: the same WSGI call, through werkzeug's test client, of

- annotator (``create_app()``),
- ``_bare_roundtrip.app`` (the bare function: the same claim and save on the DB-API driver), the limit,
- ``_flask_roundtrip.app`` (that bare work behind Flask: routing, request and response objects),

on one database of ``--size`` imported sentences (quota 2), each with its own annotator and bearer
token, taking turns round by round. Each request is timed with ``time.process_time`` (CPU time of
this process: other processes on a busy machine do not count; on PostgreSQL the server's own work
does not either). Figures, the median over ``--rounds`` rounds after ``--warm`` unmeasured ones:

- ``request_cpu.next_ms`` and ``request_cpu.put_ms``: annotator's, limit the bare function's;
- ``request_cpu.round_ms``: the two together;
- ``request_cpu.flask_floor.round_ms``: the bare work behind Flask, limit the bare function's.

The ratio is what the served round trip can reach at best: a round costs annotator's CPU plus the
server's and client's own, which the bare function pays too.

    python tests/benchmarks/bench_request_cpu.py [--size 3000] [--rounds 300] [--database-url URL]
"""

from __future__ import annotations

import importlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import _common as c

HERE = Path(__file__).resolve().parent


def _setup(url: str, size: int) -> dict[str, str]:
    from annotator import db as database
    from annotator.records import ReportRecord
    from annotator.services.corpus import import_reports
    from annotator.services.projects import get_or_create_project
    from annotator.services.unit_of_work import session_factory
    from annotator.services.users import create_user, issue_api_token

    engine = database.make_engine(url)
    session = session_factory(engine)()
    project, _ = get_or_create_project(session, "bench", annotators_per_sentence=2)
    import_reports(session, project, "bench.txt", [ReportRecord(text=t) for t, _ in c.reports(size)])
    tokens = {name: issue_api_token(create_user(session, name, "annotator", None)) for name in ("app", "bare", "flask")}
    session.commit()
    session.close()
    engine.dispose()
    return tokens


def _round(client, token: str, i: int) -> tuple[float, float]:
    """One next + save; the CPU seconds of each."""
    headers = {"Authorization": f"Bearer {token}"}
    started = time.process_time()
    response = client.get("/api/projects/bench/next", headers=headers)
    claimed = time.process_time()
    if response.status_code != 200:
        raise RuntimeError(f"next -> {response.status_code} {response.get_data()[:300]!r}")
    sentence = json.loads(response.get_data())["sentence"]
    first = sentence["tokens"][i % len(sentence["tokens"])]
    body = json.dumps(
        {
            "status": "done",
            "spans": [{"start_char": first["start_char"], "end_char": first["end_char"], "label": "COUNT"}],
        }
    )
    before_save = time.process_time()
    response = client.put(
        f"/api/sentences/{sentence['id']}/annotation",
        data=body,
        headers={**headers, "Content-Type": "application/json"},
    )
    saved = time.process_time()
    if response.status_code != 200:
        raise RuntimeError(f"save -> {response.status_code} {response.get_data()[:300]!r}")
    return claimed - started, saved - before_save


def measure(url: str, size: int, rounds: int, warm: int, backend: str) -> None:
    from werkzeug.test import Client

    tokens = _setup(url, size)
    os.environ["BARE_DATABASE_URL"] = url
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    bare = importlib.reload(importlib.import_module("_bare_roundtrip"))  # reads BARE_DATABASE_URL when loaded
    flask_floor = importlib.reload(importlib.import_module("_flask_roundtrip"))

    from annotator import create_app

    with tempfile.TemporaryDirectory() as instance:
        os.environ["ANNOTATOR_INSTANCE_PATH"] = instance
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-" + os.urandom(8).hex()})
        clients = {"app": app.test_client(), "bare": Client(bare.app), "flask": Client(flask_floor.app)}
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in clients}
        for i in range(warm + rounds):
            for name, client in clients.items():  # in turn, so that a noisy moment hits all three alike
                spent = _round(client, tokens[name], i)
                if i >= warm:
                    times[name].append(spent)
        app.extensions["annotator.engine"].dispose()
        if bare._connection is not None:
            bare._connection.close()

    def median_ms(name: str, part: int | None) -> float:
        values = [sum(t) if part is None else t[part] for t in times[name]]
        return statistics.median(values) * 1000

    figures = (("next_ms", "app", 0), ("put_ms", "app", 1), ("round_ms", "app", None))
    for figure, name, part in (*figures, ("flask_floor.round_ms", "flask", None)):
        c.emit(
            f"request_cpu.{backend}.{figure}.lower_better",
            median_ms(name, part),
            "ms",
            median_ms("bare", part),
            n=rounds,
            backend=backend,
        )


def main(argv=None) -> None:
    p = c.parser(__doc__.splitlines()[0], size=3000)
    p.add_argument("--rounds", type=int, default=300)
    p.add_argument("--warm", type=int, default=30, help="rounds run first and not measured (default 30)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        for backend in c.backends(args):
            with c.fresh_database(backend, args.database_url, Path(work)) as url:
                measure(url, args.size, args.rounds, args.warm, backend)


if __name__ == "__main__":
    main()
