"""Serving: start to first 200, memory of the gunicorn master and workers, each worker's first requests.

The app runs as the README documents it: ``gunicorn -w 4`` started in the
repository's root, with its ``gunicorn.conf.py`` (the app loaded once in the
master and warmed up before the workers fork; read through
``_request_cpu_conf.py``, which runs it unchanged and adds two request hooks
that log each request's CPU time in its worker). The limit of every
figure is the same measure of ``_bare_wsgi.app`` (a 200 for every request)
under the same gunicorn settings, in the same run. The database holds
``--size`` imported sentences (default 10,000) and 9 annotators with tokens.

- ``server.gunicorn.first_start_s``: process start to the first 200 of
  ``/healthz`` with nothing compiled yet: a new instance folder and an empty
  template cache (``ANNOTATOR_TEMPLATE_CACHE_DIR``, a folder of this run), as
  the first start after installing or changing the page templates;
  ``start_s``: the same on another new instance folder, the page templates
  compiled by the first start (as on any start after the first one on this
  machine); ``restart_s``: a second start on the first instance folder;
- ``server.gunicorn.pss_mb``: proportional set size (``Pss`` of
  ``/proc/<pid>/smaps_rollup``: a page shared by n processes counts 1/n)
  summed over the master and its workers, after eight annotators have done
  five labelling rounds each; ``rss_mb`` beside it counts shared pages in
  every process;
- ``server.gunicorn.first_next_ms``, ``first_put_ms``: per worker, the server
  time (gunicorn's access log, ``%(D)s``) of its first ``GET /next`` and first
  ``PUT .../annotation``, against the median of its later ones (the limit
  here is the steady state, not the bare app); the slowest worker is reported
  (the annotators start once every worker is forked, and half a second more);
- ``server.gunicorn.first_next_cpu_ms``, ``first_put_cpu_ms``: the same, in
  CPU time of the worker (``_request_cpu_conf.py``, which runs the config file
  and adds request hooks that it does not define): what the worker itself spent,
  without the waits that a busy shared machine, the other workers' start and
  the clients all starting at once add to the server time;
- ``server.gunicorn.nowarm.*``: the same with ``-c /dev/null --preload``
  (the app preloaded, nothing warmed), for comparison;
- ``server.dev.start_s``: ``flask --app "annotator:create_app()" run`` and
  ``annotator demo`` (on a second start, its corpus already loaded) to the
  first 200 of ``/healthz``, against the bare app under werkzeug's
  ``run_simple`` (the server ``flask run`` uses).

    python tests/benchmarks/bench_server.py [--size 10000] [--database-url URL] [--workers 4]
"""

from __future__ import annotations

import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import _common as c
from bench_roundtrip import free_port, request, round_app, setup

HERE = Path(__file__).resolve().parent
ROUNDS, CLIENTS = 5, 8


def start(command: list[str], env: dict[str, str], port: int, cwd: Path) -> tuple[subprocess.Popen, float]:
    """Start ``command``; return it and the seconds until ``GET /healthz`` answered 200.

    First waits until nothing answers on ``port``: a worker of the server stopped
    just before, still exiting, would otherwise answer for the new one.
    """
    free_by = time.monotonic() + 30
    while time.monotonic() < free_by:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        except OSError:
            break
        time.sleep(0.05)
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if request(port, "GET", "/healthz")[0] == 200:
                return process, time.perf_counter() - started
        except OSError:
            time.sleep(0.01)
        if process.poll() is not None:
            break
    stop(process)
    raise RuntimeError(f"{' '.join(command)} did not answer")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def memory_mb(pids: list[int]) -> tuple[float, float]:
    """(PSS, RSS) summed over ``pids``, in MiB, from /proc/<pid>/smaps_rollup."""
    pss = rss = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss += int(line.split()[1])
            elif line.startswith("Rss:"):
                rss += int(line.split()[1])
    return pss / 1024, rss / 1024


def label(port: int, tokens: list[str]) -> list[str]:
    """Each token's annotator does ROUNDS rounds, all at once; returns the errors."""
    errors: list[str] = []

    def annotator(token: str) -> None:
        try:
            for i in range(ROUNDS):
                if not round_app(port, token, i):
                    return
        except Exception as error:  # reported, not raised
            errors.append(str(error))

    threads = [threading.Thread(target=annotator, args=(t,)) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


LOG_LINE = re.compile(r"^<(?P<pid>\d+)> (?P<us>\d+) (?P<method>\S+) (?P<path>\S+) (?P<status>\d+)$")
CPU_LINE = re.compile(r"^(?P<pid>\d+) (?P<us>\d+) (?P<faults>\d+) (?P<method>\S+) (?P<path>\S+)$")


def per_worker(log: Path) -> dict[int, dict[str, list[float]]]:
    """Server milliseconds of each worker's ``next`` and ``put`` requests, in order.

    Reads the access log (``<pid> <us> <method> <path> <status>``) or the
    request log of ``_request_cpu_conf.py`` (``pid us faults method path``).
    """
    times: dict[int, dict[str, list[float]]] = {}
    for line in log.read_text().splitlines() if log.exists() else []:
        m = LOG_LINE.match(line.strip()) or CPU_LINE.match(line.strip())
        if not m:
            continue
        kind = "next" if m["path"].endswith("/next") else "put" if m["method"] == "PUT" else None
        if kind:
            times.setdefault(int(m["pid"]), {"next": [], "put": []})[kind].append(int(m["us"]) / 1000)
    return times


def gunicorn(app: str, port: int, workers: int, config: list[str], log: Path | None = None) -> list[str]:
    command = [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}", "--no-control-socket"]
    if log is not None:
        command += ["--access-logfile", str(log), "--access-logformat", "%(p)s %(D)s %(m)s %(U)s %(s)s"]
    return [*command, *config, app]


def all_workers_up(master: int, workers: int, settle: float = 0.5) -> None:
    """Wait until the master has forked ``workers`` workers, then ``settle`` seconds for their warm-up.

    The first worker answers before the others are forked (``gunicorn.conf.py``'s
    ``pre_fork``): labelling at once would give it every request, and the other
    workers' first requests would go unmeasured.
    """
    deadline = time.monotonic() + 60
    while len(children(master)) < workers and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(settle)


def run_gunicorn(label_name, app_command, bare_command, env, tokens, port, log, common, workers) -> list[dict]:
    out = []
    process, first_seconds = start(app_command, env, port, c.ROOT)
    try:
        all_workers_up(process.pid, workers)
        errors = label(port, tokens)
        time.sleep(0.5)  # the access log is written after each response
        master = process.pid
        pss, rss = memory_mb([master, *children(master)])
        times = per_worker(log)
        cpu_times = per_worker(Path(env["BENCH_REQUEST_LOG"]))
    finally:
        stop(process)
    _, restart_seconds = _start_stop(app_command, env, port, c.ROOT)  # what the first start left is there now
    new_instance = {**env, "ANNOTATOR_INSTANCE_PATH": env["ANNOTATOR_INSTANCE_PATH"] + "-new"}
    _, seconds = _start_stop(app_command, new_instance, port, c.ROOT)  # the compiled templates are kept per user
    bare, bare_seconds = start(bare_command, env, port, HERE)
    try:
        for _ in range(CLIENTS * ROUNDS):
            request(port, "GET", "/healthz")
        bare_pss, bare_rss = memory_mb([bare.pid, *children(bare.pid)])
    finally:
        stop(bare)
    extra = dict(common, errors=errors[:3]) if errors else common
    out.append(c.emit(f"server.{label_name}.first_start_s.lower_better", first_seconds, "s", bare_seconds, **extra))
    out.append(c.emit(f"server.{label_name}.start_s.lower_better", seconds, "s", bare_seconds, **extra))
    out.append(c.emit(f"server.{label_name}.restart_s.lower_better", restart_seconds, "s", bare_seconds, **extra))
    out.append(
        c.emit(
            f"server.{label_name}.pss_mb.lower_better",
            pss,
            "MiB",
            bare_pss,
            rss_mb=round(rss, 1),
            limit_rss_mb=round(bare_rss, 1),
            **extra,
        )
    )
    for kind, figure in (
        ("next", "first_next_ms"),
        ("put", "first_put_ms"),
        ("next", "first_next_cpu_ms"),
        ("put", "first_put_cpu_ms"),
    ):
        ratios = []
        for pid, kinds in sorted((cpu_times if "cpu" in figure else times).items()):
            series = kinds[kind]
            if len(series) >= 3:
                ratios.append(
                    (series[0] / statistics.median(series[1:]), series[0], statistics.median(series[1:]), pid)
                )
        if ratios:
            worst = max(ratios)
            out.append(
                c.emit(
                    f"server.{label_name}.{figure}.lower_better",
                    worst[1],
                    "ms",
                    worst[2],
                    limit_is="the same worker's later requests, median",
                    workers_seen=len(ratios),
                    per_worker=[{"first_ms": round(r[1], 1), "steady_ms": round(r[2], 1)} for r in ratios],
                    **common,
                )
            )
    return out


def main(argv=None) -> list[dict]:
    p = c.parser(__doc__.splitlines()[0], size=10_000)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--no-dev", action="store_true", help="leave out the dev server figures")
    args = p.parse_args(argv)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for backend in c.backends(args):
            with c.fresh_database(backend, args.database_url, tmp) as url:
                tokens = list(setup(url, args.size).values())[: CLIENTS * 2]
                env = {
                    **os.environ,
                    "ANNOTATOR_DATABASE_URL": url,
                    "ANNOTATOR_SECRET_KEY": "bench-" + uuid.uuid4().hex,
                    "ANNOTATOR_INSTANCE_PATH": str(tmp / f"instance-{backend}"),
                    # the dev servers' (their starts are second starts): the one the gunicorn run filled
                    "ANNOTATOR_TEMPLATE_CACHE_DIR": str(tmp / f"template-cache-{backend}-gunicorn"),
                }
                common = dict(n=args.size, backend=backend, gunicorn_workers=args.workers)
                bare = gunicorn("_bare_wsgi:app", free_port(), args.workers, ["-c", "/dev/null", "--preload"])
                for name, conf, chosen in (
                    ("gunicorn", c.ROOT / "gunicorn.conf.py", tokens[:CLIENTS]),
                    ("gunicorn.nowarm", Path("/dev/null"), tokens[CLIENTS:]),
                ):
                    port = free_port()
                    log = tmp / f"access-{backend}-{name}.log"
                    config = ["-c", str(HERE / "_request_cpu_conf.py")] + (
                        [] if conf.name == "gunicorn.conf.py" else ["--preload"]
                    )
                    app_command = gunicorn("annotator:create_app()", port, args.workers, config, log)
                    bare_command = [*bare[:6], f"127.0.0.1:{port}", *bare[7:]]
                    run_env = {
                        **env,
                        "ANNOTATOR_INSTANCE_PATH": str(tmp / f"instance-{backend}-{name}"),
                        "ANNOTATOR_TEMPLATE_CACHE_DIR": str(tmp / f"template-cache-{backend}-{name}"),
                        "BENCH_GUNICORN_CONF": str(conf),
                        "BENCH_REQUEST_LOG": str(log) + ".cpu",
                    }
                    out += run_gunicorn(
                        name, app_command, bare_command, run_env, chosen, port, log, common, args.workers
                    )
                if args.no_dev or backend != "sqlite":
                    continue
                port = free_port()
                bare_dev = [
                    sys.executable,
                    "-c",
                    "import sys; from werkzeug.serving import run_simple; from _bare_wsgi import app; "
                    "run_simple('127.0.0.1', int(sys.argv[1]), app, threaded=True)",
                    str(port),
                ]
                _, bare_seconds = _start_stop(bare_dev, env, port, HERE)
                flask_run = [
                    sys.executable,
                    "-m",
                    "flask",
                    "--app",
                    "annotator:create_app()",
                    "run",
                    "--port",
                    str(port),
                ]
                demo = [str(Path(sys.executable).parent / "annotator"), "demo", "--port", str(port)]
                demo_env = {**env, "ANNOTATOR_DATABASE_URL": f"sqlite:///{tmp / 'demo.db'}"}
                subprocess.run([*demo, "--no-serve"], env=demo_env, cwd=c.ROOT, check=True, capture_output=True)
                for name, command, command_env in (("flask_run", flask_run, env), ("demo", demo, demo_env)):
                    _, seconds = _start_stop(command, command_env, port, c.ROOT)
                    out.append(
                        c.emit(
                            f"server.dev.{name}.start_s.lower_better",
                            seconds,
                            "s",
                            bare_seconds,
                            limit_is="the bare app under werkzeug's run_simple, as flask run serves",
                            n=args.size,
                            backend=backend,
                        )
                    )
    return out


def _start_stop(command, env, port, cwd) -> tuple[None, float]:
    process, seconds = start(command, env, port, cwd)
    stop(process)
    return None, seconds


if __name__ == "__main__":
    main()
