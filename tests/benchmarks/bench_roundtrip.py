"""Labelling round trip over HTTP: GET next sentence + PUT its annotation.

The app runs under ``gunicorn -w 4 --preload``, started in the repository
root (so with its ``gunicorn.conf.py``), on a free loopback port, on
a fresh SQLite file and (with --database-url) a fresh PostgreSQL database.
Simulated annotators (threads, one request at a time each, a new connection
per request as the sync workers close them) each do rounds of
``GET /api/projects/<p>/next`` then ``PUT /api/sentences/<id>/annotation``
with a bearer token. Latency of a round = both requests; percentiles over
all rounds; throughput = rounds per second of wall time.

Between rounds an annotator reads and labels the sentence: a think time
drawn uniformly from 0.5 to 1.5 times ``--think`` seconds (default 4 s, one
sentence every 4 s, faster than people label; each annotator also starts
after a random part of one think time, as people do not start in step).
Figures:

- ``c1``: one annotator, no think time (latency of an idle server);
- ``c50``: fifty annotators with think time: the target, a p99 under 50 ms;
- ``c50.nothink``: fifty annotators with no think time at all, a load test
  that finds the throughput ceiling (every request queues behind the others,
  so its latency is the queue's, not the app's).

Limit: the same clients, with the same think times, doing two ``GET /healthz``
per round on the same server.

    python tests/benchmarks/bench_roundtrip.py [--database-url URL] [--rounds 1000] [--workers 4] [--think 4]
        [--runs c1,c50,c50.nothink]
"""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import _common as c

CONCURRENCY = 50
ANNOTATORS = 50


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port: int, method: str, path: str, token: str | None = None, body=None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    try:
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def setup(url: str, n_sentences: int) -> dict[str, str]:
    from annotator import db as database
    from annotator.records import ReportRecord
    from annotator.services.corpus import import_reports
    from annotator.services.projects import get_or_create_project
    from annotator.services.unit_of_work import session_factory
    from annotator.services.users import create_user, issue_api_token

    engine = database.make_engine(url)
    session = session_factory(engine)()
    project, _ = get_or_create_project(session, "bench", annotators_per_sentence=2)
    import_reports(session, project, "bench.txt", [ReportRecord(text=t) for t, _ in c.reports(n_sentences)])
    tokens = {}
    for i in range(ANNOTATORS + 1):
        user = create_user(session, f"annotator{i}", "annotator", None)
        tokens[user.username] = issue_api_token(user)
    session.commit()
    session.close()
    engine.dispose()
    return tokens


def start_server(url: str, workers: int, instance: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {
        **os.environ,
        "ANNOTATOR_DATABASE_URL": url,
        "ANNOTATOR_SECRET_KEY": "bench-" + uuid.uuid4().hex,
        "ANNOTATOR_INSTANCE_PATH": str(instance),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            str(workers),
            "--preload",
            "-b",
            f"127.0.0.1:{port}",
            "annotator:create_app()",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=c.ROOT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if request(port, "GET", "/healthz")[0] == 200:
                return process, port
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("gunicorn did not start")


def round_app(port: int, token: str, i: int) -> bool:
    status, body = request(port, "GET", "/api/projects/bench/next", token)
    if status == 204:
        return False
    if status != 200:
        raise RuntimeError(f"next -> {status} {body[:300]!r}")
    sentence = json.loads(body)["sentence"]
    first = sentence["tokens"][i % len(sentence["tokens"])]
    spans = [{"start_char": first["start_char"], "end_char": first["end_char"], "label": "COUNT"}]
    status, body = request(
        port, "PUT", f"/api/sentences/{sentence['id']}/annotation", token, {"status": "done", "spans": spans}
    )
    if status != 200:
        raise RuntimeError(f"put -> {status} {body[:300]!r}")
    return True


def round_healthz(port: int, token: str, i: int) -> bool:
    for _ in range(2):
        status, _ = request(port, "GET", "/healthz")
        if status != 200:
            raise RuntimeError(f"healthz -> {status}")
    return True


def run(
    port: int, tokens: list[str], rounds_each: int, one_round, think: float = 0.0
) -> tuple[list[float], float, list[str]]:
    """Each token's annotator does ``rounds_each`` rounds, thinking ``think`` s (mean) between them."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def annotator(number: int, token: str) -> None:
        rng = random.Random(number)  # the same think times for the app and for the limit
        mine = []
        try:
            if think:
                time.sleep(rng.uniform(0, think))
            for i in range(rounds_each):
                started = time.perf_counter()
                if not one_round(port, token, i):
                    break
                mine.append(time.perf_counter() - started)
                if think:
                    time.sleep(rng.uniform(0.5 * think, 1.5 * think))
        except Exception as error:  # reported, not raised: the other threads go on
            with lock:
                errors.append(str(error))
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=annotator, args=(n, t)) for n, t in enumerate(tokens)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, time.perf_counter() - started, errors


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main(argv=None) -> list[dict]:
    p = c.parser(__doc__.splitlines()[0], size=3000)
    p.add_argument("--rounds", type=int, default=1000, help="rounds at the highest concurrency (default 1000)")
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--think", type=float, default=4.0, help="mean think time between rounds, seconds (default 4)")
    p.add_argument(
        "--runs", default="c1,c50,c50.nothink", help="comma-separated subset of c1,c50,c50.nothink (default all)"
    )
    args = p.parse_args(argv)
    unknown = set(args.runs.split(",")) - {"c1", "c50", "c50.nothink"}
    if unknown:
        p.error(f"--runs: unknown run {', '.join(sorted(unknown))}; choose from c1, c50, c50.nothink")
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in c.backends(args):
            with c.fresh_database(backend, args.database_url, Path(tmp)) as url:
                tokens = setup(url, args.size)
                process, port = start_server(url, args.workers, Path(tmp) / f"instance-{backend}")
                try:
                    warm = tokens.pop(f"annotator{ANNOTATORS}")
                    run(port, [warm] * args.workers * 2, 3, round_app)  # every worker loads its lazy imports
                    names = sorted(tokens)
                    plans = [(1, "c1", 0.0), (CONCURRENCY, "c50", args.think), (CONCURRENCY, "c50.nothink", 0.0)]
                    plans = [plan for plan in plans if plan[1] in args.runs.split(",")]
                    for concurrency, label, think in plans:
                        each = max(1, args.rounds // concurrency) if concurrency > 1 else min(200, args.rounds)
                        chosen = [tokens[n] for n in names[:concurrency]]
                        app, app_wall, app_errors = run(port, chosen, each, round_app, think)
                        bare, bare_wall, _ = run(port, chosen, each, round_healthz, think)
                        common = dict(
                            n=len(app),
                            backend=backend,
                            concurrency=concurrency,
                            think_s=think,
                            gunicorn_workers=args.workers,
                        )
                        if app_errors:
                            common["errors"] = app_errors[:5]
                        for q in (50, 95, 99):
                            out.append(
                                c.emit(
                                    f"roundtrip.{backend}.{label}.p{q}_ms.lower_better",
                                    percentile(app, q) * 1000,
                                    "ms",
                                    percentile(bare, q) * 1000,
                                    **common,
                                )
                            )
                        out.append(
                            c.emit(
                                f"roundtrip.{backend}.{label}.rounds_per_s.higher_better",
                                len(app) / app_wall,
                                "rounds/s",
                                len(bare) / bare_wall,
                                **common,
                            )
                        )
                finally:
                    process.terminate()
                    try:
                        process.wait(timeout=15)
                    except subprocess.TimeoutExpired:
                        process.kill()
    return out


if __name__ == "__main__":
    main()
