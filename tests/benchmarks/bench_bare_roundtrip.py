"""Labelling round trip against its bare limit: annotator and ``_bare_roundtrip.app`` side by side.

Both run under the same gunicorn settings (``-w 4 --preload``; annotator
from the repository root, so with its ``gunicorn.conf.py``), each on its own
fresh database holding the same ``--size`` imported sentences and
annotators (annotator's schema, migrated), and both are driven by the same
light client as ``bench_roundtrip.py`` (``http.client``, a new connection per
request, bearer tokens): ``GET /api/projects/bench/next`` then ``PUT
/api/sentences/<id>/annotation`` with one span, no think time.

- ``c1``: one annotator, ``--rounds`` rounds: p50, p99 and rounds/s;
- ``c20``: twenty annotators, ``--rounds`` rounds in all.

Each figure's ``limit`` is the bare function's, measured in the same run. A third server,
``_flask_roundtrip.app`` (the bare function's own work behind Flask, no SQLAlchemy), gives
``flask_floor_rounds_per_s``: how much of the gap is the web framework's alone.

    python tests/benchmarks/bench_bare_roundtrip.py [--size 3000] [--rounds 500] [--database-url URL]
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import _common as c
from bench_roundtrip import free_port, percentile, round_app, run, setup
from bench_server import gunicorn, start, stop

HERE = Path(__file__).resolve().parent


def measure(command, env, cwd, port, tokens, plans) -> dict[str, tuple[list[float], float, list[str]]]:
    process, _ = start(command, env, port, cwd)
    try:
        run(port, tokens[:8], 3, round_app)  # every worker serves a few rounds first
        return {label: run(port, tokens[8 : 8 + clients], each, round_app) for label, clients, each in plans}
    finally:
        stop(process)


def main(argv=None) -> list[dict]:
    p = c.parser(__doc__.splitlines()[0], size=3000)
    p.add_argument("--rounds", type=int, default=500)
    p.add_argument("--workers", type=int, default=4)
    args = p.parse_args(argv)
    plans = [("c1", 1, args.rounds), ("c20", 20, max(1, args.rounds // 20))]
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for backend in c.backends(args):
            results = {}
            for side in ("app", "flask", "bare"):
                with c.fresh_database(backend, args.database_url, tmp) as url:
                    tokens = list(setup(url, args.size).values())
                    env = c.server_env(url, tmp / f"instance-{backend}-{side}")
                    port = free_port()
                    if side == "app":
                        command = gunicorn("annotator:create_app()", port, args.workers, ["--preload"])
                        results[side] = measure(command, env, c.ROOT, port, tokens, plans)
                    else:
                        target = "_bare_roundtrip:app" if side == "bare" else "_flask_roundtrip:app"
                        command = gunicorn(target, port, args.workers, ["-c", "/dev/null", "--preload"])
                        results[side] = measure(command, env, HERE, port, tokens, plans)
            for label, _, _ in plans:
                app, app_wall, app_errors = results["app"][label]
                bare, bare_wall, bare_errors = results["bare"][label]
                common = dict(n=len(app), backend=backend, gunicorn_workers=args.workers, limit_n=len(bare))
                if app_errors or bare_errors:
                    common["errors"] = (app_errors + bare_errors)[:5]
                for q in (50, 99):
                    out.append(
                        c.emit(
                            f"roundtrip_bare.{backend}.{label}.p{q}_ms.lower_better",
                            percentile(app, q) * 1000,
                            "ms",
                            percentile(bare, q) * 1000,
                            **common,
                        )
                    )
                out.append(
                    c.emit(
                        f"roundtrip_bare.{backend}.{label}.rounds_per_s.higher_better",
                        len(app) / app_wall,
                        "rounds/s",
                        len(bare) / bare_wall,
                        **common,
                    )
                )
                # Flask's own share: the bare function's work behind Flask, against the bare function.
                flask, flask_wall, flask_errors = results["flask"][label]
                floor = (
                    dict(common, n=len(flask), errors=flask_errors[:5]) if flask_errors else dict(common, n=len(flask))
                )
                out.append(
                    c.emit(
                        f"roundtrip_bare.{backend}.{label}.flask_floor_rounds_per_s.higher_better",
                        len(flask) / flask_wall,
                        "rounds/s",
                        len(bare) / bare_wall,
                        **floor,
                    )
                )
    return out


if __name__ == "__main__":
    main()
