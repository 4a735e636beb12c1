"""SQL time and statements of the labelling round trip, in process: GET next + PUT annotation.

Imports --size synthetic sentences (quota 2), then 3 annotators take turns for
--rounds rounds through the Flask test client. Engine events time every
statement (BEGIN, SAVEPOINT and RELEASE included; not SQLite's BEGIN IMMEDIATE, which
annotator.db issues on the driver connection). Prints the median SQL
time and statement count per request; no bare-tools limit (``limit`` null).
Then each annotator is given --history earlier annotations (the project's last
sentences, done by all three) and the rounds run again (figures ``...historyN``):
the SQL time of a request should not grow with how much its user has annotated.
--explain prints the statements of the last round, slowest first.

    python tests/benchmarks/bench_queue_sql.py --size 300000 [--database-url URL] [--rounds 30]
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import _common as c
from sqlalchemy import event


def probe(url: str, size: int, rounds: int, explain: bool, history: int) -> dict[str, dict[str, float]]:
    from annotator import create_app
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
    tokens = [issue_api_token(create_user(session, f"a{i}", "annotator", None)) for i in range(3)]
    session.commit()
    session.close()
    engine.dispose()

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "TESTING": True})
    timed: list[tuple[float, str]] = []

    @event.listens_for(app.extensions["annotator.engine"], "before_cursor_execute")
    def _before(conn, cursor, statement, params, context, executemany):
        conn.info["started"] = time.perf_counter()

    @event.listens_for(app.extensions["annotator.engine"], "after_cursor_execute")
    def _after(conn, cursor, statement, params, context, executemany):
        timed.append((time.perf_counter() - conn.info.pop("started"), statement.split("\n")[0][:100]))

    client = app.test_client()
    results = {"": _rounds(client, tokens, timed, rounds, explain)}
    if history:
        _give_history(url, history)
        results[f".history{history}"] = _rounds(client, tokens, timed, rounds, explain)
    app.extensions["annotator.engine"].dispose()
    return results


def _give_history(url: str, history: int) -> None:
    """Each annotator's ``history`` earlier annotations: the project's last sentences, done by all three."""
    from sqlalchemy import insert, literal, select, update

    from annotator import db as database
    from annotator.models import COMPLETE, Annotation, Sentence, User, utcnow

    engine = database.make_engine(url)
    now = utcnow()
    with engine.begin() as connection:
        last = select(Sentence.id).order_by(Sentence.id.desc()).limit(history).scalar_subquery()
        for (user_id,) in connection.execute(select(User.id).where(User.username.in_(["a0", "a1", "a2"]))):
            connection.execute(
                insert(Annotation).from_select(
                    ["sentence_id", "user_id", "status", "seconds_spent", "version", "created_at", "updated_at"],
                    select(
                        Sentence.id,
                        literal(user_id),
                        literal("done"),
                        literal(0.0),
                        literal(1),
                        literal(now),
                        literal(now),
                    ).where(Sentence.id.in_(last)),
                )
            )
        connection.execute(update(Sentence).where(Sentence.id.in_(last)).values(annotation_count=3, state=COMPLETE))
    if engine.dialect.name == "postgresql":  # what autovacuum would do after the annotations came one by one
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()


def _rounds(client, tokens: list[str], timed: list, rounds: int, explain: bool) -> dict[str, float]:
    figures: dict[str, list[float]] = {"next_ms": [], "next_statements": [], "put_ms": [], "put_statements": []}
    last: dict[str, list] = {}
    for i in range(rounds):
        headers = {"Authorization": f"Bearer {tokens[i % 3]}"}
        timed.clear()
        response = client.get("/api/projects/bench/next", headers=headers)
        assert response.status_code == 200, response.data
        figures["next_ms"].append(sum(t for t, _ in timed) * 1000)
        figures["next_statements"].append(len(timed))
        last["next"] = list(timed)
        sentence = response.get_json()["sentence"]
        token = sentence["tokens"][0]
        spans = [{"start_char": token["start_char"], "end_char": token["end_char"], "label": "COUNT"}]
        timed.clear()
        response = client.put(
            f"/api/sentences/{sentence['id']}/annotation", headers=headers, json={"status": "done", "spans": spans}
        )
        assert response.status_code == 200, response.data
        figures["put_ms"].append(sum(t for t, _ in timed) * 1000)
        figures["put_statements"].append(len(timed))
        last["put"] = list(timed)
    if explain:
        for request, statements in last.items():
            print(f"-- {request}")
            for seconds, statement in sorted(statements, reverse=True):
                print(f"{seconds * 1000:8.2f} ms  {statement}")
    return {name: statistics.median(values) for name, values in figures.items()}


def main(argv=None) -> list[dict]:
    p = c.parser(__doc__.splitlines()[0], size=30_000)
    p.add_argument("--rounds", type=int, default=30)
    p.add_argument("--explain", action="store_true", help="print the last round's statements, slowest first")
    p.add_argument(
        "--history",
        type=int,
        default=10_000,
        help="then again after each annotator has this many earlier annotations (at most half of --size; 0: not)",
    )
    args = p.parse_args(argv)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in c.backends(args):
            history = min(args.history, args.size // 2)
            with c.fresh_database(backend, args.database_url, Path(tmp)) as url:
                results = probe(url, args.size, args.rounds, args.explain, history)
            for suffix, figures in results.items():
                for name, value in figures.items():
                    unit = "ms" if name.endswith("_ms") else "statements"
                    out.append(
                        c.emit(
                            f"queue_sql.{backend}.{name}{suffix}.lower_better",
                            value,
                            unit,
                            None,
                            n=args.rounds,
                            backend=backend,
                            size=args.size,
                            history=history if suffix else 0,
                        )
                    )
    return out


if __name__ == "__main__":
    main()
