"""Failed login: time for an unknown username against a known one with a wrong password.

A refused login must take the same work whoever the username names, or its
time tells which names exist. The app runs in-process (Flask's test client) on
a fresh database of each backend; each of --repeat attempts posts the login
form (with its CSRF token) and is timed until the 401 arrives. The known
user's lockout is set out of reach so every attempt checks the password.
Median over the attempts, unknown and known interleaved.

Figure: ``login.failed.unknown_user_ms.lower_better``, with the known user's
median as its limit: a ratio near 1 means the two cannot be told apart by
time (the target is within 2x either way).

    python tests/benchmarks/bench_login.py [--repeat 30] [--database-url URL]
"""

from __future__ import annotations

import re
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import _common as c


def attempt(client, token: str, username: str) -> float:
    started = time.perf_counter()
    response = client.post("/login", data={"username": username, "password": "not the password", "csrf_token": token})
    elapsed = time.perf_counter() - started
    assert response.status_code == 401, response.status_code  # a benchmark of refusals only
    return elapsed


def main(argv=None) -> list[dict]:
    from annotator import create_app
    from annotator.services.users import create_user

    p = c.parser(__doc__.splitlines()[0], size=0)
    p.add_argument("--repeat", type=int, default=30)
    args = p.parse_args(argv)
    out = []
    for backend in c.backends(args):
        with tempfile.TemporaryDirectory() as tmp, c.fresh_database(backend, args.database_url, Path(tmp)) as url:
            app = create_app(
                {
                    "DATABASE_URL": url,
                    "SECRET_KEY": uuid.uuid4().hex,
                    "LOGIN_MAX_FAILURES": 10**9,
                    "GC_FREEZE": False,
                }
            )
            app.instance_path = str(Path(tmp) / "instance")
            session = app.extensions["annotator.sessionmaker"]()
            create_user(session, "known", "annotator", "correct horse battery")
            session.commit()
            session.close()
            client = app.test_client()
            page = client.get("/login").get_data(as_text=True)
            token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
            attempt(client, token, "known")  # warm: the first check of an unknown name makes the dummy hash
            attempt(client, token, "nobody-0")
            unknown, known = [], []
            for i in range(args.repeat):
                unknown.append(attempt(client, token, f"nobody-{i}"))
                known.append(attempt(client, token, "known"))
            app.extensions["annotator.engine"].dispose()
        common = dict(n=args.repeat, backend=backend)
        out.append(
            c.emit(
                "login.failed.unknown_user_ms.lower_better",
                statistics.median(unknown) * 1000,
                "ms",
                statistics.median(known) * 1000,
                **common,
            )
        )
    return out


if __name__ == "__main__":
    main()
