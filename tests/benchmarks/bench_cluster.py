"""A team on a cluster from a cold start: two app servers on one database, fifty annotators at work.

Two servers (``gunicorn -w 2`` each, started in the repository root, so with
its ``gunicorn.conf.py``) on one fresh database holding ``--size`` imported
sentences; the run starts with them: the clock and the annotators start as
the servers are launched, and each annotator's first request waits only for
its server to answer ``/healthz``. Fifty annotators (threads, half on each
server, a new connection per request, bearer tokens) each do ``GET next``
then ``PUT`` the annotation, then pause 0.5 to 1.5 × ``--think`` seconds
(default 1 s, far faster than people label), for ``--seconds`` seconds.

Figures, each against the same run with the bare WSGI function
(``_bare_roundtrip.app``: the same claim and save on the bare driver, under
the same two gunicorns):

- ``cluster.<backend>.p99_ms``: round-trip p99 over the whole run, the cold
  start included (the target: under 50 ms);
- ``cluster.<backend>.warm_p99_ms``: the same from 10 s on;
- ``cluster.<backend>.max_ms`` and ``slow_rounds`` (rounds over 500 ms) with
  when the slowest came (seconds after the servers were launched).

    python tests/benchmarks/bench_cluster.py [--database-url URL] [--size 3000] [--seconds 40] [--think 1]
"""

from __future__ import annotations

import random
import tempfile
import threading
import time
from pathlib import Path

import _common as c
from bench_roundtrip import free_port, percentile, request, round_app, setup
from bench_server import gunicorn, stop

HERE = Path(__file__).resolve().parent
SERVERS, WORKERS, ANNOTATORS = 2, 2, 50


def wait_for(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            if request(port, "GET", "/healthz")[0] == 200:
                return
        except OSError:
            time.sleep(0.01)
    raise RuntimeError(f"no server answered on port {port}")


def team(command_for, env, cwd, tokens, seconds: float, think: float) -> tuple[list[tuple[float, float]], list[str]]:
    """(seconds after launch, latency) of every round, and the errors, for one run with two servers."""
    import subprocess

    ports = [free_port() for _ in range(SERVERS)]
    rounds: list[tuple[float, float]] = []
    errors: list[str] = []
    lock = threading.Lock()
    launched = time.perf_counter()
    processes = [
        subprocess.Popen(command_for(port), env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for port in ports
    ]
    end = launched + seconds

    def annotator(number: int, token: str) -> None:
        rng = random.Random(number)  # the same pauses for the app and for the bare function
        port = ports[number % SERVERS]
        try:
            wait_for(port, time.monotonic() + 120)
            time.sleep(rng.uniform(0, think))  # people do not start in step
            i = 0
            while time.perf_counter() < end:
                started = time.perf_counter()
                if not round_app(port, token, i):
                    break
                with lock:
                    rounds.append((started - launched, time.perf_counter() - started))
                i += 1
                time.sleep(rng.uniform(0.5 * think, 1.5 * think))
        except Exception as error:  # reported, not raised: the others go on
            with lock:
                errors.append(str(error)[:300])

    threads = [threading.Thread(target=annotator, args=(n, t)) for n, t in enumerate(tokens)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for process in processes:
            stop(process)
    return rounds, errors


def figures(rounds: list[tuple[float, float]]) -> dict[str, float]:
    latencies = [latency for _, latency in rounds]
    warm = [latency for at, latency in rounds if at >= 10] or latencies
    slowest_at, slowest = max(rounds, key=lambda r: r[1])
    return {
        "p99_ms": percentile(latencies, 99) * 1000,
        "warm_p99_ms": percentile(warm, 99) * 1000,
        "max_ms": slowest * 1000,
        "slowest_at_s": slowest_at,
        "slow_rounds": sum(1 for latency in latencies if latency > 0.5),
    }


def main(argv=None) -> list[dict]:
    p = c.parser(__doc__.splitlines()[0], size=3000)
    p.add_argument("--seconds", type=float, default=40.0)
    p.add_argument("--think", type=float, default=1.0, help="mean pause between rounds, seconds (default 1)")
    args = p.parse_args(argv)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for backend in c.backends(args):
            results = {}
            for side in ("app", "bare"):
                with c.fresh_database(backend, args.database_url, tmp) as url:
                    tokens = list(setup(url, args.size).values())[:ANNOTATORS]
                    env = c.server_env(url, tmp / f"instance-{backend}-{side}")
                    if side == "app":
                        command, cwd = (lambda port: gunicorn("annotator:create_app()", port, WORKERS, [])), c.ROOT
                    else:
                        command, cwd = (
                            (
                                lambda port: gunicorn(
                                    "_bare_roundtrip:app", port, WORKERS, ["-c", "/dev/null", "--preload"]
                                )
                            ),
                            HERE,
                        )
                    results[side] = team(command, env, cwd, tokens, args.seconds, args.think)
            (app, app_errors), (bare, bare_errors) = results["app"], results["bare"]
            mine, limit = figures(app), figures(bare)
            common = dict(
                n=len(app),
                backend=backend,
                limit_n=len(bare),
                servers=SERVERS,
                gunicorn_workers=WORKERS,
                annotators=ANNOTATORS,
                seconds=args.seconds,
                think_s=args.think,
            )
            if app_errors or bare_errors:
                common["errors"] = (app_errors + bare_errors)[:5]
            for key in ("p99_ms", "warm_p99_ms", "max_ms"):
                extra = {"slowest_at_s": round(mine["slowest_at_s"], 2)} if key == "max_ms" else {}
                out.append(
                    c.emit(f"cluster.{backend}.{key}.lower_better", mine[key], "ms", limit[key], **common, **extra)
                )
            out.append(
                c.emit(
                    f"cluster.{backend}.slow_rounds.lower_better",
                    mine["slow_rounds"],
                    "rounds over 500 ms",
                    limit["slow_rounds"] or None,
                    **common,
                    limit_slow_rounds=limit["slow_rounds"],
                )
            )
    return out


if __name__ == "__main__":
    main()
