"""Fixtures: an app on a fresh database per test, on SQLite and PostgreSQL.

Every test that uses ``database_url`` (or ``app``, ``db``, ``client``) runs once
per backend: SQLite always, PostgreSQL when ANNOTATOR_TEST_DATABASE_URL names a
server database (for example ``postgresql+psycopg://postgres@127.0.0.1:5432/test``).
Each test gets its own database, copied from a migrated template and dropped
afterwards.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
import spacy
from hypothesis import settings
from sqlalchemy import text
from sqlalchemy.engine import make_url

from annotator import db as database
from tests.helpers import make_project, sentences_of, world  # noqa: F401 - world: a fixture (a project, an export, a client per role)

# In CI the property-based tests replay the same examples every run, so a red build is reproducible;
# locally they explore new ones (HYPOTHESIS_PROFILE=ci to replay).
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "default"))

PG_URL = os.environ.get("ANNOTATOR_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
# Where PostgreSQL must be tested (CI, or a developer who says so), a missing URL stops the run at once.
PG_REQUIRED = any(
    os.environ.get(name, "").lower() in ("1", "true", "yes") for name in ("CI", "ANNOTATOR_TEST_REQUIRE_POSTGRESQL")
)
NO_PG_MESSAGE = (
    "ANNOTATOR_TEST_DATABASE_URL is not set, so the PostgreSQL half of the suite cannot run. Start PostgreSQL and set it, "
    "e.g. ANNOTATOR_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test (./run-tests sets it when a server "
    "answers on 127.0.0.1:5432)."
)


def pytest_configure(config):
    if PG_REQUIRED and not PG_URL:
        raise pytest.UsageError(
            f"PostgreSQL is required here (CI or ANNOTATOR_TEST_REQUIRE_POSTGRESQL) but {NO_PG_MESSAGE}"
        )


@pytest.fixture(scope="session", autouse=True)
def run_folders(tmp_path_factory):
    """Folders of this run, not the user's: compiled page templates (``ANNOTATOR_TEMPLATE_CACHE_DIR``) and the
    instance folder of apps and commands given none of their own (not ``instance/`` in the checkout)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, folder in (
            ("ANNOTATOR_TEMPLATE_CACHE_DIR", "template-cache"),
            ("ANNOTATOR_INSTANCE_PATH", "instance"),
        ):
            patch.setenv(name, str(tmp_path_factory.mktemp(folder)))
        yield


@pytest.fixture(scope="session")
def nlp():
    return spacy.blank("en")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = database.make_engine(f"sqlite:///{path}")
    database.upgrade(engine)
    engine.dispose()  # closing the last connection folds the WAL back into the file
    assert not path.with_name(path.name + "-wal").exists()
    return path


def _pg_admin_engine():
    from sqlalchemy import create_engine

    return create_engine(PG_URL, isolation_level="AUTOCOMMIT")


@contextmanager
def pg_database(prefix: str, template: str | None = None):
    """A new PostgreSQL database (copied from ``template`` if given), dropped afterwards; yields its name."""
    name = f"{prefix}{uuid.uuid4().hex[:12]}"
    admin = _pg_admin_engine()
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    try:
        yield name
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def pg_url(name: str) -> str:
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_template():
    if not PG_URL:
        yield None
        return
    with pg_database("annotator_tpl_") as name:
        engine = database.make_engine(pg_url(name))
        database.upgrade(engine)
        engine.dispose()
        yield name


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    """A URL to a fresh, migrated, empty database of each backend."""
    if request.param == "postgresql" and not PG_URL:
        pytest.skip(NO_PG_MESSAGE)  # a test that asks for PostgreSQL alone; CI refuses to start without it
    if request.param == "sqlite":
        path = tmp_path / "annotator.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    with pg_database("annotator_t_", template=request.getfixturevalue("pg_template")) as name:
        yield pg_url(name)


@pytest.fixture(params=BACKENDS)
def empty_database_url(request, tmp_path):
    """A URL to a new, empty database (no schema) of each backend: for migration tests."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    with pg_database("annotator_m_") as name:
        yield pg_url(name)


def app_config(database_url: str, tmp_path: Path) -> dict:
    """The app settings every test app shares."""
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-" + uuid.uuid4().hex,
        "EXPORTS_DIR": str(tmp_path / "exports"),
        "MODELS_DIR": str(tmp_path / "models"),
        "PROGRESS_MAX_AGE": 0,  # tests read progress right after changing it
    }


@pytest.fixture
def app(database_url, tmp_path):
    from annotator import create_app

    app = create_app(app_config(database_url, tmp_path))
    app.instance_path = str(tmp_path / "instance")
    yield app
    app.extensions["annotator.engine"].dispose()


@pytest.fixture
def db(app):
    """A session on the test database (outside any request)."""
    session = app.extensions["annotator.sessionmaker"]()
    yield session
    session.close()


@pytest.fixture
def runner(app):
    """Invokes the ``annotator`` command against the test app."""
    from annotator.cli import main

    class Runner:
        def __init__(self):
            self.inner = app.test_cli_runner()

        def invoke(self, args, **kwargs):
            return self.inner.invoke(main, args=args, **kwargs)

    return Runner()


class Browserless:
    """A test client logged in through the real login form, sending CSRF tokens like the page does."""

    def __init__(self, app, username: str, password: str):
        self.client = app.test_client()
        page = self.client.get("/login").get_data(as_text=True)
        token = _csrf_from(page)
        response = self.client.post("/login", data={"username": username, "password": password, "csrf_token": token})
        assert response.status_code == 302, f"login as {username} failed: {response.status_code}"
        self.csrf = _csrf_from(self.client.get("/").get_data(as_text=True))

    def _headers(self, headers=None):
        return {"X-CSRFToken": self.csrf, **(headers or {})}

    def get(self, *args, **kwargs):
        return self.client.get(*args, **kwargs)

    def post(self, *args, headers=None, **kwargs):
        return self.client.post(*args, headers=self._headers(headers), **kwargs)

    def put(self, *args, headers=None, **kwargs):
        return self.client.put(*args, headers=self._headers(headers), **kwargs)

    def delete(self, *args, headers=None, **kwargs):
        return self.client.delete(*args, headers=self._headers(headers), **kwargs)


def _csrf_from(page: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', page) or re.search(
        r'name="csrf_token" type="hidden" value="([^"]+)"', page
    )
    assert match, "no CSRF token on the page"
    return match.group(1)


@pytest.fixture
def make_user(db):
    """Create a user with a password; returns the username."""
    from annotator.services.users import create_user

    def make(username: str, role: str = "annotator", password: str = "correct horse battery") -> str:
        create_user(db, username, role, password)
        db.commit()
        return username

    return make


@pytest.fixture
def login(app, make_user):
    """login(name, role) -> a logged-in client for a new user."""

    def do(username: str, role: str = "annotator") -> Browserless:
        make_user(username, role)
        return Browserless(app, username, "correct horse battery")

    return do


# --- Browser tier: a real server on a free port, real Chromium --------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def live_app(tmp_path, sqlite_template):
    """An app on its own SQLite file, served by a real HTTP server in a thread.

    Yields the app; its ``base_url`` attribute is where the server listens.
    """
    import threading

    from werkzeug.serving import make_server

    from annotator import create_app

    path = tmp_path / "live.db"
    shutil.copy(sqlite_template, path)
    app = create_app(app_config(f"sqlite:///{path}", tmp_path))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.base_url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app
    server.shutdown()
    thread.join(timeout=5)
    app.extensions["annotator.engine"].dispose()


@pytest.fixture
def live_db(live_app):
    session = live_app.extensions["annotator.sessionmaker"]()
    yield session
    session.close()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright; missing Chromium is an error, not a skip."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install chromium (./run-tests does it as root)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def browser_login(live_app, live_db):
    """browser_login(page, name, role): create the user and log in through the form."""
    from annotator.services.users import create_user

    def do(page, username: str, role: str = "annotator", password: str = "correct horse battery"):
        create_user(live_db, username, role, password)
        live_db.commit()
        page.goto(f"{live_app.base_url}/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_app.base_url}/")
        return page

    return do


@pytest.fixture
def project(db):
    """The shared test corpus (tests.helpers.REPORTS) as project "incidents", 2 annotators per sentence.
    tests/test_annotate.py overrides it with a corpus of its own (Cyrillic, emoji, a double space)."""
    return make_project(db)


@pytest.fixture
def first(db, project):
    """The project's first sentence."""
    return sentences_of(db, project)[0]
