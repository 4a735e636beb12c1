"""A serving process freezes its start-up heap once, after its first response (``GC_FREEZE``).

Each case runs in a child process: ``gc.freeze`` is process-wide, and the test
process must keep collecting normally. The child drives the app as a WSGI
server does (call, read the body, close the iterable), then prints what it saw.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import make_project


def _template_cache() -> dict[str, str]:
    """The children's compiled templates go where the test run's do (conftest), not to the user's cache."""
    return {"ANNOTATOR_TEMPLATE_CACHE_DIR": os.environ["ANNOTATOR_TEMPLATE_CACHE_DIR"]}


CHILD = r"""
import gc, json, sys
from werkzeug.test import EnvironBuilder
from annotator import create_app

config = json.loads(sys.argv[1])
rehearse_first = config.pop("rehearse_first", False)
app = create_app(config)
seen = []

def serve(path, extra=None):
    environ = {**EnvironBuilder(path=path).get_environ(), **(extra or {})}
    body = app(environ, lambda status, headers, exc_info=None: None)
    b"".join(body)
    seen.append(("sent", gc.get_freeze_count()))
    body.close()
    seen.append(("closed", gc.get_freeze_count()))

if rehearse_first:
    serve("/healthz", {"annotator.rehearsal": True})  # the warm-up's requests are not serving yet
serve("/healthz")
gc.unfreeze()
serve("/healthz")
print(json.dumps(seen))
"""


def _serve_twice(tmp_path, **config) -> list[tuple[str, int]]:
    config = {"DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}", "SECRET_KEY": "k" * 32, **config}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(config)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "ANNOTATOR_INSTANCE_PATH": str(tmp_path), **_template_cache()},
    )
    assert done.returncode == 0, done.stderr
    return [tuple(step) for step in json.loads(done.stdout.strip().splitlines()[-1])]


def test_serving_heap_is_frozen_once_after_the_first_response_is_sent(tmp_path):
    first_sent, first_closed, second_sent, second_closed = _serve_twice(tmp_path)
    assert first_sent == ("sent", 0)  # not while the client waits for the body
    assert first_closed[0] == "closed" and first_closed[1] > 10_000  # the app and its libraries
    assert second_sent == ("sent", 0) and second_closed == ("closed", 0)  # once per process


def test_serving_heap_is_not_frozen_by_the_warm_ups_rehearsal_requests(tmp_path):
    rehearsed_sent, rehearsed_closed, first_sent, first_closed, *_ = _serve_twice(tmp_path, rehearse_first=True)
    assert rehearsed_closed == ("closed", 0)
    assert first_closed[1] > 10_000  # the first response that is served freezes


@pytest.mark.parametrize("config", [{"GC_FREEZE": "false"}, {"TESTING": True}], ids=["turned-off", "testing"])
def test_serving_heap_stays_unfrozen_when_turned_off_or_testing(tmp_path, config):
    assert [count for _, count in _serve_twice(tmp_path, **config)] == [0, 0, 0, 0]


def test_serving_heap_freeze_can_be_forced_on_while_testing(tmp_path):
    assert _serve_twice(tmp_path, TESTING=True, GC_FREEZE=True)[1][1] > 10_000


def test_serving_warm_up_builds_each_projects_suggester_and_leaves_no_connection_open(app, db, project):
    from annotator.app import warm_up
    from annotator.services import suggestions

    suggestions._rule_suggester.cache_clear()
    db.commit()
    assert warm_up(app) == 1
    assert suggestions._rule_suggester.cache_info().currsize == 1
    assert app.extensions["annotator.engine"].pool.checkedout() == 0  # nothing for a forked worker to inherit
    assert "label.html" in {name for _, name in app.jinja_env.cache}  # the labelling page's, by the round


def test_serving_warm_up_of_the_other_pages_compiles_every_template_and_keeps_it(app):
    from annotator.app import warm_up_other_pages

    templates = app.jinja_env.list_templates(extensions=["html"])
    assert warm_up_other_pages(app) is True
    assert {name for _, name in app.jinja_env.cache} >= set(templates)  # compiled,
    kept = list(Path(app.jinja_env.bytecode_cache.directory).iterdir())
    assert len(kept) >= len(templates)  # and kept for the next start
    assert warm_up_other_pages(app) is False  # once per process


def _table_counts(db) -> dict[str, object]:
    from sqlalchemy import func, select

    from annotator.models import Annotation, Lease, ProjectMember, Sentence, Span, User

    counts: dict[str, object] = {
        model.__tablename__: db.scalar(select(func.count()).select_from(model))
        for model in (User, Annotation, Span, Lease, ProjectMember)
    }
    counts["sentences"] = db.execute(select(Sentence.id, Sentence.state, Sentence.annotation_count)).all()
    return counts


@pytest.mark.parametrize(
    "restricted,queue_order",
    [(False, "report"), (True, "report"), (False, "uncertain")],
    ids=["open", "restricted", "uncertain"],
)
def test_serving_rehearsals_run_a_labelling_round_and_keep_nothing(app, db, restricted, queue_order):
    from annotator.app import warm_worker
    from annotator.services import queue
    from annotator.web.rehearsal import rehearse_labelling

    project = make_project(db, restricted=restricted)
    project.queue_order = queue_order
    db.commit()
    before = _table_counts(db)
    db.rollback()
    assert rehearse_labelling(app) == 1  # one queue order in use: one round, through the views
    assert _table_counts(db) == before
    assert not queue._PROJECT_COUNTS  # no figure counted inside a rolled-back transaction is kept
    db.rollback()
    assert warm_worker(app) is True  # the worker's: reads, then next and a save with a token
    assert _table_counts(db) == before
    # one figure is kept, counted after the rollback from what is stored: the first `next` reuses it
    (kept,) = queue._PROJECT_COUNTS.values()
    assert kept[1] == queue.project_counts(db, project) == (len(before["sentences"]), 0)
    queue.forget_project_counts()
    assert app.extensions["annotator.sessionmaker"]().get_bind() is app.extensions["annotator.engine"]


def test_serving_worker_warm_up_leaves_its_connection_for_the_first_request(app, db, project):
    from annotator.app import warm_worker

    db.close()
    engine = app.extensions["annotator.engine"]
    engine.dispose()
    assert warm_worker(app) is True
    assert engine.pool.checkedout() == 0
    assert engine.pool.checkedin() == 1


def test_serving_rehearsals_without_a_sentence_run_no_round(app, db):
    from annotator.app import warm_worker
    from annotator.web.rehearsal import rehearse_labelling

    make_project(db, reports=())
    assert rehearse_labelling(app) == 0
    assert warm_worker(app) is False


CONF_CHILD = r"""
import gc, json, logging, sys, types
from pathlib import Path

settings = {}
conf = Path(sys.argv[1])
exec(compile(conf.read_text(), str(conf), "exec"), settings)  # as gunicorn reads it, before the app loads
collecting_while_loading = gc.isenabled()

from annotator import create_app

app = create_app(json.loads(sys.argv[2]))
server = types.SimpleNamespace(app=types.SimpleNamespace(wsgi=lambda: app), log=logging.getLogger("gunicorn"))
settings["when_ready"](server)
state = {
    "collecting_while_loading": collecting_while_loading,
    "collecting_after": gc.isenabled(),
    "frozen": gc.get_freeze_count(),
    "connections_open": app.extensions["annotator.engine"].pool.checkedout(),
    "numpy_before_the_first_fork": "numpy" in sys.modules and "annotator.metrics.project" in sys.modules,
}
server.WORKERS = {}
settings["pre_fork"](server, None)  # the first worker: forked without what only the other pages need
templates = set(app.jinja_env.list_templates(extensions=["html"]))
state["templates_for_the_first_worker"] = sorted({name for _, name in app.jinja_env.cache} & templates)
server.WORKERS = {1: None}
settings["pre_fork"](server, None)  # the second: the master has loaded it, frozen with the rest
state.update(
    all_templates_for_the_second_worker={name for _, name in app.jinja_env.cache} >= templates,
    frozen_with_templates=gc.get_freeze_count() - state["frozen"],
    collecting_after_pre_fork=gc.isenabled(),
)
settings["pre_fork"](server, None)
state["frozen_again_by_the_third"] = gc.get_freeze_count() - state["frozen"] != state["frozen_with_templates"]
state["frozen"] = gc.get_freeze_count()

settings["post_worker_init"](types.SimpleNamespace(wsgi=app, log=server.log))  # as in a worker, before it serves
state["frozen_by_the_worker_warm_up"] = gc.get_freeze_count() > state["frozen"]
frozen = gc.get_freeze_count()

# What a forked worker's first labelling round would still load or compile.
generated = []
handler = logging.Handler()
handler.emit = lambda record: generated.append(record.getMessage()) if "[generated in" in record.getMessage() else None
logging.getLogger("sqlalchemy.engine.Engine").addHandler(handler)
logging.getLogger("sqlalchemy.engine.Engine").setLevel(logging.INFO)
modules = set(sys.modules)
client = app.test_client()
bearer = {"Authorization": "Bearer " + sys.argv[3]}
answer = client.get("/api/projects/incidents/next", headers=bearer)
sentence = answer.get_json()["sentence"]
span = {"start_char": 0, "end_char": sentence["tokens"][0]["end_char"], "label": "COUNT"}
saved = client.put(
    "/api/sentences/%d/annotation" % sentence["id"], json={"status": "done", "spans": [span]}, headers=bearer
)
answer.close()
saved.close()  # a response's close is where the first one freezes the heap
state.update(
    frozen_again=gc.get_freeze_count() > frozen,  # (freed frozen objects leave it: it may shrink)
    statuses=[answer.status_code, saved.status_code],
    new_modules=sorted(set(sys.modules) - modules),
    compiled=generated,
)
print(json.dumps(state))
"""


def test_serving_gunicorn_conf_warms_the_master_so_a_first_round_loads_and_compiles_nothing(database_url, tmp_path):
    """After ``when_ready``, as in gunicorn's master before the fork: a labelling round imports no module
    and compiles no SQL statement (SQLAlchemy logs "[generated in ...]" for a statement it compiles)."""
    from pathlib import Path

    from annotator import create_app
    from annotator.services.users import create_user, issue_api_token

    config = {"DATABASE_URL": database_url, "SECRET_KEY": "k" * 32}
    setup = create_app({**config, "TESTING": True})
    session = setup.extensions["annotator.sessionmaker"]()
    make_project(session)
    token = issue_api_token(create_user(session, "ann", "annotator", None))
    session.commit()
    session.close()
    setup.extensions["annotator.engine"].dispose()

    conf = Path(__file__).resolve().parents[1] / "gunicorn.conf.py"
    done = subprocess.run(
        [sys.executable, "-c", CONF_CHILD, str(conf), json.dumps(config), token],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "ANNOTATOR_INSTANCE_PATH": str(tmp_path), **_template_cache()},
    )
    assert done.returncode == 0, done.stderr
    state = json.loads(done.stdout.strip().splitlines()[-1])
    assert state["collecting_while_loading"] is False  # gc.freeze's documented recipe: off while loading,
    assert state["collecting_after"] is True  # then back on, the start-up heap frozen before the fork
    assert state["frozen"] > 10_000
    assert state["connections_open"] == 0  # nothing for a forked worker to inherit
    assert state["numpy_before_the_first_fork"] is True  # shared by all: no fork waits for it
    assert "label.html" in state["templates_for_the_first_worker"]  # the other pages' templates: the first
    assert "admin_users.html" not in state["templates_for_the_first_worker"]  # worker serves sooner without
    assert state["all_templates_for_the_second_worker"] is True  # them, the ones after share them
    assert state["frozen_with_templates"] > 100 and state["collecting_after_pre_fork"] is True
    assert state["frozen_again_by_the_third"] is False
    assert state["frozen_by_the_worker_warm_up"] is True  # the worker freezes before it serves,
    assert state["frozen_again"] is False  # not again after its first response
    assert state["statuses"] == [200, 200]
    assert state["new_modules"] == []
    assert state["compiled"] == []


def test_serving_gunicorn_conf_preloads_and_warms_before_the_workers_fork():
    import gc
    from pathlib import Path

    conf = Path(__file__).resolve().parents[1] / "gunicorn.conf.py"
    settings: dict = {}
    try:
        exec(compile(conf.read_text(), str(conf), "exec"), settings)
    finally:
        gc.enable()  # reading the file turns collection off until when_ready
    assert settings["preload_app"] is True
    assert settings["wsgi_app"] == "annotator:create_app()"
    for hook in ("when_ready", "pre_fork", "on_reload", "post_worker_init"):
        assert callable(settings[hook])


SERVE_ROUND = r"""
import json, sys
from annotator import create_app
from annotator.app import warm_up

config, token = json.loads(sys.argv[1]), sys.argv[2]
app = create_app(config)
warm_up(app)
after_warm_up = "spacy" in sys.modules
client = app.test_client()
headers = {"Authorization": f"Bearer {token}"}
payload = client.get("/api/projects/incidents/next", headers=headers).get_json()
sentence, suggested = payload["sentence"], payload["suggestions"]
spans = [{key: s[key] for key in ("start_char", "end_char", "label")} for s in suggested]
saved = client.put(f"/api/sentences/{sentence['id']}/annotation", headers=headers, json={"status": "done", "spans": spans})
print(json.dumps([after_warm_up, "spacy" in sys.modules, len(suggested), saved.status_code]))
"""


def test_serving_a_labelling_round_trip_loads_no_spacy(app, db, tmp_path):
    """Rules suggest over the tokens stored with each sentence: a server warms up and labels without spaCy."""
    from annotator.services.users import issue_api_token
    from tests.helpers import make_project, users

    make_project(db, reports=["Forty drones were shot down over the Kursk region overnight. No one was hurt."])
    (ann,) = users(db, "ann")
    token = issue_api_token(ann)
    db.commit()
    config = {key: app.config[key] for key in ("DATABASE_URL", "SECRET_KEY", "EXPORTS_DIR", "MODELS_DIR")}
    done = subprocess.run(
        [sys.executable, "-c", SERVE_ROUND, json.dumps(config), token],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "ANNOTATOR_INSTANCE_PATH": str(tmp_path), **_template_cache()},
    )
    assert done.returncode == 0, done.stderr
    after_warm_up, after_round, suggested, status = json.loads(done.stdout.strip().splitlines()[-1])
    assert suggested >= 2  # the count and the region, found by the rules
    assert status == 200
    assert (after_warm_up, after_round) == (False, False)
