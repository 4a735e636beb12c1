"""A serving process freezes its start-up heap once, after its first response (``GC_FREEZE``).

Each case runs in a child process: ``gc.freeze`` is process-wide, and the test
process must keep collecting normally. The child drives the app as a WSGI
server does (call, read the body, close the iterable), then prints what it saw.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CHILD = r"""
import gc, json, sys
from werkzeug.test import EnvironBuilder
from annotator import create_app

config = json.loads(sys.argv[1])
app = create_app(config)
seen = []

def serve(path):
    environ = EnvironBuilder(path=path).get_environ()
    body = app(environ, lambda status, headers, exc_info=None: None)
    b"".join(body)
    seen.append(("sent", gc.get_freeze_count()))
    body.close()
    seen.append(("closed", gc.get_freeze_count()))

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
        env={"PATH": "/usr/bin:/bin", "ANNOTATOR_INSTANCE_PATH": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    return [tuple(step) for step in json.loads(done.stdout.strip().splitlines()[-1])]


def test_serving_heap_is_frozen_once_after_the_first_response_is_sent(tmp_path):
    first_sent, first_closed, second_sent, second_closed = _serve_twice(tmp_path)
    assert first_sent == ("sent", 0)  # not while the client waits for the body
    assert first_closed[0] == "closed" and first_closed[1] > 10_000  # the app and its libraries
    assert second_sent == ("sent", 0) and second_closed == ("closed", 0)  # once per process


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
    assert app.jinja_env.cache  # the page templates are compiled


def test_serving_gunicorn_conf_preloads_and_warms_before_the_workers_fork():
    from pathlib import Path

    conf = Path(__file__).resolve().parents[1] / "gunicorn.conf.py"
    settings: dict = {}
    exec(compile(conf.read_text(), str(conf), "exec"), settings)
    assert settings["preload_app"] is True
    assert settings["wsgi_app"] == "annotator:create_app()"
    assert callable(settings["when_ready"])


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
        env={"PATH": "/usr/bin:/bin", "ANNOTATOR_INSTANCE_PATH": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    after_warm_up, after_round, suggested, status = json.loads(done.stdout.strip().splitlines()[-1])
    assert suggested >= 2  # the count and the region, found by the rules
    assert status == 200
    assert (after_warm_up, after_round) == (False, False)
