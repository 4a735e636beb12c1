"""Shared pieces of the benchmarks: synthetic corpus, databases, output.

Every benchmark prints one JSON line per figure:
``{"name", "value", "unit", "limit", "ratio", "n", "backend", "machine", ...}``
where ``limit`` is the same work done by the bare tools in the same run and
``ratio = value / limit``. The name ends in ``higher_better`` (throughput:
ratio 1 = as fast as the bare tools) or ``lower_better`` (seconds, bytes,
latency: ratio 1 = as cheap as the bare tools).

Benchmarks only print; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

REGIONS = [
    "Kursk",
    "Belgorod",
    "Bryansk",
    "Kharkiv",
    "Odesa",
    "Kherson",
    "Zaporizhzhia",
    "Dnipro",
    "Sumy",
    "Mykolaiv",
    "Lviv",
    "Crimea",
    "Rostov",
    "Voronezh",
    "Kyiv",
    "Poltava",
]
WEAPONS = ["drones", "UAVs", "Shahed drones", "missiles", "cruise missiles", "glide bombs"]
OUTCOMES = [
    "were shot down",
    "were intercepted",
    "were destroyed",
    "were suppressed by electronic warfare",
    "hit an energy facility",
    "struck a residential building",
]
AFTERMATH = [
    "Debris damaged {n} houses and a school.",
    "A fire broke out at a warehouse; firefighters contained it by morning.",
    "No one was injured, the regional governor said.",
    "{n} people were wounded and taken to hospital.",
    "Power was cut to about {n}00 homes for several hours.",
    "Air defence units remained on alert overnight.",
    "The attack lasted almost {n} hours, according to local officials.",
]
NUMBERS = ["Two", "Three", "Five", "Seven", "Nine", "Twelve", "Fifteen", "Twenty", "Thirty-one", "Forty"]


def machine() -> str:
    """nproc, CPU model and RAM of this machine, as one short string."""
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
                break
    except OSError:
        pass
    # A machine that writes no .pyc (PYTHONDONTWRITEBYTECODE) compiles an editable install's modules at each start.
    bytecode = ", .pyc not written" if sys.flags.dont_write_bytecode else ""
    if sys.pycache_prefix:
        bytecode += ", .pyc under PYTHONPYCACHEPREFIX"
    return f"nproc={os.cpu_count()}, {model}, {ram} RAM, Python {platform.python_version()}{bytecode}"


def emit(name: str, value: float, unit: str, limit: float | None, *, n: int, backend: str, **extra) -> dict:
    """Print one figure as a JSON line (and return it)."""
    ratio = value / limit if limit else None
    line = {
        "name": name,
        "value": round(value, 4),
        "unit": unit,
        "limit": None if limit is None else round(limit, 4),
        "ratio": None if ratio is None else round(ratio, 3),
        "n": n,
        "backend": backend,
        "machine": machine(),
        "load_avg_1m": round(os.getloadavg()[0], 2),  # the machine may be shared: read figures with it
        **extra,
    }
    print(json.dumps(line), flush=True)
    return line


def parser(description: str, size: int = 100_000) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--size", type=int, default=size, help=f"number of sentences (default {size:,})")
    p.add_argument(
        "--database-url",
        default=os.environ.get("ANNOTATOR_TEST_DATABASE_URL"),
        help="a PostgreSQL URL whose server may create databases (default: $ANNOTATOR_TEST_DATABASE_URL); "
        "SQLite always runs",
    )
    p.add_argument("--backends", default=None, help="comma-separated subset of sqlite,postgresql")
    return p


def backends(args) -> list[str]:
    chosen = ["sqlite"] + (["postgresql"] if args.database_url else [])
    if args.backends:
        wanted = set(args.backends.split(","))
        chosen = [b for b in chosen if b in wanted]
    return chosen


# --- synthetic corpus ------------------------------------------------------------------


def sentence(rng: random.Random) -> tuple[str, list[tuple[int, int, str]]]:
    """One incident-report-like sentence and its REGION/COUNT/OUTCOME spans (char offsets)."""
    kind = rng.random()
    if kind < 0.55:
        count, weapon, outcome, region = (
            rng.choice(NUMBERS),
            rng.choice(WEAPONS),
            rng.choice(OUTCOMES),
            rng.choice(REGIONS),
        )
        head = f"{count} {weapon} "
        text = f"{head}{outcome} over the {region} region overnight."
        o = len(head)
        r = text.index(region, o + len(outcome))
        return text, [(0, len(count), "COUNT"), (o, o + len(outcome), "OUTCOME"), (r, r + len(region), "REGION")]
    if kind < 0.75:
        region = rng.choice(REGIONS)
        text = f"In {region}, officials reported {rng.randint(2, 90)} {rng.choice(WEAPONS)} launched since Tuesday."
        r = text.index(region)
        c = r + len(region) + len(", officials reported ")
        return text, [(r, r + len(region), "REGION"), (c, text.index(" ", c), "COUNT")]
    text = rng.choice(AFTERMATH).format(n=rng.randint(2, 9))
    return text, []


def reports(n_sentences: int, seed: int = 0, per_report: int = 5):
    """Yield (report text, [(sentence text, sentence offset, spans)]) with ~5 sentences each; unique texts."""
    rng = random.Random(seed)
    made = 0
    number = 0
    while made < n_sentences:
        k = min(per_report, n_sentences - made)
        parts = [sentence(rng) for _ in range(k)]
        # A report id line keeps every text unique (a repeated text is skipped as a duplicate).
        parts[0] = (
            f"Report {number}: {parts[0][0]}",
            [(s + len(f"Report {number}: "), e + len(f"Report {number}: "), lab) for s, e, lab in parts[0][1]],
        )
        text, sentences, offset = "", [], 0
        for i, (s, spans) in enumerate(parts):
            sep = "" if i == 0 else " "
            offset = len(text) + len(sep)
            text += sep + s
            sentences.append((s, offset, spans))
        yield text, sentences
        made += k
        number += 1


# --- databases -------------------------------------------------------------------------


@contextmanager
def fresh_database(backend: str, pg_url: str | None, workdir: Path, migrate: bool = True):
    """A URL to a new, migrated, empty database; dropped (PostgreSQL) afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from annotator import db as database

    if backend == "sqlite":
        path = workdir / f"bench-{uuid.uuid4().hex[:8]}.db"
        url = f"sqlite:///{path}"
        if migrate:
            engine = database.make_engine(url)
            database.upgrade(engine)
            engine.dispose()
        try:
            yield url
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
        return
    name = "annotator_bench_" + re.sub(r"\W", "", uuid.uuid4().hex[:10])
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    try:
        if migrate:
            engine = database.make_engine(url)
            database.upgrade(engine)
            engine.dispose()
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def server_env(url: str, instance: Path) -> dict[str, str]:
    """The environment of a benchmarked server (the app, or a bare function reading BARE_DATABASE_URL) on ``url``."""
    return {
        **os.environ,
        "ANNOTATOR_DATABASE_URL": url,
        "BARE_DATABASE_URL": url,
        "ANNOTATOR_SECRET_KEY": "bench-" + uuid.uuid4().hex,
        "ANNOTATOR_INSTANCE_PATH": str(instance),
        "ANNOTATOR_TEMPLATE_CACHE_DIR": str(instance / "template-cache"),  # this run's, not the user's
    }


def raw_connection(url: str):
    """A bare DB-API connection (sqlite3 or psycopg) for the bare-tools limits."""
    if url.startswith("sqlite"):
        import sqlite3

        connection = sqlite3.connect(url.split("///", 1)[1])
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        return connection
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    return psycopg.connect(host=u.host, port=u.port or 5432, user=u.username, password=u.password, dbname=u.database)


def placeholder(url: str) -> str:
    return "?" if url.startswith("sqlite") else "%s"


def peak_rss_mb() -> float:
    """This process's peak resident set size, in MB.

    On Linux, VmHWM of the process's own memory: ``ru_maxrss`` survives
    ``exec``, so a child started by a parent holding gigabytes would report at
    least the parent's peak (the export benchmark's parent holds its corpus).
    """
    import resource

    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
