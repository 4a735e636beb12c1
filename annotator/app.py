"""The application factory."""

from __future__ import annotations

import gc
import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask, g, request

from . import db as database
from .extensions import csrf, login_manager
from .limits import DEFAULTS as LIMITS

PACKAGE = Path(__file__).parent
REHEARSAL = "annotator.rehearsal"  # WSGI environ key of the warm-up's requests (annotator.web.rehearsal)
OTHER_PAGES_WARM = "annotator.other_pages_warm"  # app.extensions: warm_up_other_pages has run in this process
FROZEN_IN = "annotator.heap_frozen_in"  # app.extensions: the processes that froze their heap (GC_FREEZE on)


def _asset_folder(name: str) -> str:
    """Top-level ``templates``/``static`` in a checkout, ``annotator/<name>`` when installed."""
    checkout = PACKAGE.parent / name
    return str(checkout if checkout.is_dir() else PACKAGE / name)


def create_app(test_config: dict[str, Any] | None = None, *, web: bool = True) -> Flask:
    """Build the app: defaults, then ``ANNOTATOR_*`` environment, then ``test_config``.

    ``web=False`` leaves out the pages and the API (their code is not even imported): what a
    command that only works on the database needs, and a faster start.
    """
    app = Flask(
        __name__,
        template_folder=_asset_folder("templates"),
        static_folder=_asset_folder("static"),
        instance_path=os.environ.get("ANNOTATOR_INSTANCE_PATH") or None,
        instance_relative_config=True,
    )
    app.config.from_mapping(
        DATABASE_URL=None,
        EXPORTS_DIR=str(PACKAGE.parent / "exports") if (PACKAGE.parent / "exports").is_dir() else None,
        MODELS_DIR=None,  # where training runs keep their export and pipelines; default instance/models
        TEMPLATE_CACHE_DIR=None,  # compiled page templates; default ~/.cache/annotator/templates (web.template_cache)
        LEASE_SECONDS=15 * 60,
        PROGRESS_MAX_AGE=5.0,  # seconds a project-wide progress count may be reused
        MAX_CONTENT_LENGTH=20 * 1024 * 1024,  # any request, uploads included: larger is a 413
        **LIMITS,  # MAX_SPANS_PER_ANNOTATION, MAX_JSON_DEPTH, ...: see annotator.limits and the README
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        WTF_CSRF_CHECK_DEFAULT=False,  # checked in a before_request hook, skipped for API tokens
        WTF_CSRF_TIME_LIMIT=None,
        LOGIN_MAX_FAILURES=5,
        LOGIN_LOCKOUT_SECONDS=300,
        RULE_SUGGESTIONS=True,
        GC_FREEZE=None,  # freeze the start-up heap after a process's first response; None: unless TESTING
    )
    app.config.from_prefixed_env("ANNOTATOR")
    if test_config is not None:
        app.config.from_mapping(test_config)

    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path))
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'annotator.db'}"
    if not app.config["EXPORTS_DIR"]:
        app.config["EXPORTS_DIR"] = str(Path(app.instance_path) / "exports")
    if not app.config["MODELS_DIR"]:
        app.config["MODELS_DIR"] = str(Path(app.instance_path) / "models")
    app.config["SESSION_COOKIE_SECURE"] = _flag(app.config.get("SESSION_COOKIE_SECURE", False))
    app.config["REMEMBER_COOKIE_SECURE"] = app.config["SESSION_COOKIE_SECURE"]

    engine = database.make_engine(app.config["DATABASE_URL"])
    app.extensions["annotator.engine"] = engine
    from .services.unit_of_work import session_factory

    app.extensions["annotator.sessionmaker"] = session_factory(engine)
    app.teardown_appcontext(_close_session)

    csrf.init_app(app)
    login_manager.init_app(app)

    if web:
        from .web import register
        from .web.template_cache import template_cache

        register(app)
        # Compiled page templates are kept per user (annotator.web.template_cache): a start,
        # on this instance folder or a new one, loads them instead of compiling them again.
        app.jinja_env.bytecode_cache = template_cache(app)
    freeze = app.config["GC_FREEZE"]
    if _flag(freeze) if freeze is not None else not app.testing:
        _freeze_heap_after_first_response(app)
    return app


def warm_up(app: Flask) -> int:
    """Load before serving what the first labelling requests would otherwise load; returns the projects warmed.

    Each project's rule suggester and vocabularies (no spaCy: the rules run over
    the tokens stored with each sentence) and its trained model when it has one
    (which imports spaCy); then, in an app with pages, one labelling round
    rehearsed through the app's own request path and rolled back
    (``annotator.web.rehearsal``), which compiles the round trip's SQL
    statements and the labelling page's templates and runs the code of a first
    request. Without them a process's first labelling request takes far longer
    than its later ones. Called once in a server's parent process before it
    forks workers (``gunicorn.conf.py``, ``annotator demo``), which then share
    it; the connections it used are closed, so that no worker inherits one.
    It also imports numpy and the dashboard's metrics, so that all workers are
    forked in quick succession. The other pages' templates are
    ``warm_up_other_pages``'s.
    """
    from .services.suggestions import warm_suggesters

    engine = app.extensions["annotator.engine"]
    session = app.extensions["annotator.sessionmaker"]()
    try:
        with app.app_context():
            projects = warm_suggesters(session)
        session.close()  # the rehearsal opens its own
        if "auth" in app.blueprints and projects:
            from .web.rehearsal import rehearse_labelling

            rehearse_labelling(app)
        # numpy and the dashboard's figures: no labelling request needs them, but loading them between two
        # forks would keep every worker after the first from serving for as long (~75 ms, more on a busy
        # machine), while the first worker alone takes all the first requests.
        from .metrics import gold_scores, project  # noqa: F401

        return projects
    finally:
        session.close()
        engine.dispose()


def warm_up_other_pages(app: Flask) -> bool:
    """Compile (or load from the bytecode cache) every page template; False if done already.

    No labelling request needs the other pages' templates (a first start, with
    no template compiled yet, spends ~0.15 s on them; with the cache, a few
    milliseconds): gunicorn's master loads them after forking its first
    worker, before the others (``gunicorn.conf.py``, ``pre_fork``), so that
    the first worker serves sooner and the later ones share them. A process
    that has not loaded them loads each on the first page that needs it (from
    the bytecode cache, which the master has filled by then).
    """
    if app.extensions.get(OTHER_PAGES_WARM):
        return False
    app.extensions[OTHER_PAGES_WARM] = True
    if "auth" in app.blueprints:
        for name in app.jinja_env.list_templates(extensions=["html"]):
            app.jinja_env.get_template(name)
    return True


def warm_worker(app: Flask) -> bool:
    """In a server process forked from a warmed-up parent, before it serves: touch what the first requests use.

    ``annotator.web.rehearsal.rehearse_in_worker``: without it, a first ``next``
    copies several thousand pages shared with the parent and takes a few times
    as long as the next one. Then the heap is collected and frozen (with
    ``GC_FREEZE`` on), which the first response would otherwise do. Returns
    whether it ran (an app with pages and a sentence to rehearse on).
    """
    if "auth" not in app.blueprints:
        return False
    from .web.rehearsal import rehearse_in_worker

    rehearsed = rehearse_in_worker(app)
    frozen_in = app.extensions.get(FROZEN_IN)
    if frozen_in is not None and _first_in_this_process(frozen_in):
        _collect_and_freeze()  # the labelling code has run: freeze now rather than after the first response
    return rehearsed


def _freeze_heap_after_first_response(app: Flask) -> None:
    """Keep Python's full garbage collections out of request latency.

    What a serving process loads (Flask, SQLAlchemy, spaCy, the app: about
    160,000 objects) lives as long as the process, yet every full collection
    walks all of it again, a pause of about 90 ms inside whichever request
    happens to trigger one. After the process has sent its first response
    (by then the labelling code is loaded too), that heap is collected once
    and moved to the permanent generation (``gc.freeze``), so later full
    collections walk only what came after. Once per process: each gunicorn
    worker does it for itself, after the fork (at the end of ``warm_worker``
    when it runs, before the first request).
    """
    frozen_in: list[int] = app.extensions.setdefault(FROZEN_IN, [])

    @app.after_request
    def _freeze_once(response):
        if request.environ.get(REHEARSAL):
            return response  # the warm-up's rehearsal in gunicorn's master: serving has not begun
        if _first_in_this_process(frozen_in):
            response.call_on_close(_collect_and_freeze)  # after the response is sent
        return response


def _first_in_this_process(frozen_in: list[int]) -> bool:
    """Whether this process has not frozen its heap yet; from now on it counts as having done so."""
    if os.getpid() in frozen_in:
        return False
    frozen_in.append(os.getpid())
    return True


def _collect_and_freeze() -> None:
    gc.collect()
    gc.freeze()


def _flag(value) -> bool:
    """A boolean setting that may arrive from the environment as text ("true", "no", "0", ...)."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _instance_secret(instance: Path) -> str:
    """A secret key generated once into the instance folder (never a built-in default)."""
    path = instance / "secret_key"
    if not path.exists():
        # Written aside, then linked into place: workers starting together agree on one key.
        tmp = instance / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


def _close_session(exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        if exc is not None:
            session.rollback()
        session.close()
