"""Security: CSRF, escaping of untrusted text, headers, cookies, secrets, lockout, limits, and
who may reach which route (walking every rule of the url_map, so new routes are covered)."""

import os
import re
import stat
import uuid

import pytest
from sqlalchemy import func, select

from annotator.models import Project, User
from annotator.services.users import issue_api_token
from tests.helpers import HOSTILE, SECRET_COMMENT, rule_url, url_rules

PAYLOADS = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "javascript:alert(1)", "{{ 7*7 }}"]
PUBLIC = {
    "auth.login",
    "main.healthz",
    "main.favicon",
    "api.openapi",
}  # reachable without logging in (api.openapi: the API's description)
ROLE_AREAS = {  # endpoint prefixes closed to a role
    "annotator": ("review.", "browse.", "admin.", "label_admin.", "exports.", "models."),
    "reviewer": ("admin.", "label_admin."),
    "admin": (),
}
ADMIN_ENDPOINTS = {"api.post_project"}  # closed to all but admins outside the admin area


def _closed(role: str, endpoint: str) -> bool:
    return endpoint.startswith(ROLE_AREAS[role]) or (role != "admin" and endpoint in ADMIN_ENDPOINTS)


def _send(client, method, url):
    kwargs = {"json": {}} if url.startswith("/api/") and method != "GET" else {"data": {}}
    return getattr(client, method.lower())(url, **kwargs) if method != "GET" else client.get(url)


def _anonymous(app):
    """A client without a login that still sends a valid CSRF token, so the login check is what stops it."""
    from tests.conftest import _csrf_from

    client = app.test_client()
    token = _csrf_from(client.get("/login").get_data(as_text=True))

    class Anonymous:
        def get(self, url, **kw):
            return client.get(url, **kw)

        def __getattr__(self, method):
            return lambda url, **kw: getattr(client, method)(url, headers={"X-CSRFToken": token}, **kw)

    return Anonymous()


def test_security_every_route_requires_the_right_role(app, db, world):
    values, clients = world["values"], world["clients"]
    problems = []
    anonymous = _anonymous(app)
    for rule, method in url_rules(app):
        url = rule_url(rule, values)
        response = _send(anonymous, method, url)
        if rule.endpoint in PUBLIC:
            continue
        if url.startswith("/api/"):
            if response.status_code != 401 or not response.is_json:
                problems.append(f"anonymous {method} {url}: {response.status_code}, expected 401 JSON")
        elif response.status_code != 302 or "/login" not in response.headers.get("Location", ""):
            problems.append(f"anonymous {method} {url}: {response.status_code}, expected a redirect to /login")
    # Admin last: its writes (with empty forms) must not change what the others may do.
    for role in ("annotator", "reviewer", "admin"):
        client = clients[role]
        for rule, method in url_rules(app):
            if rule.endpoint == "auth.logout":
                continue  # checked below, on its own
            url = rule_url(rule, values)
            response = _send(client, method, url)
            closed = _closed(role, rule.endpoint)
            if response.status_code >= 500:
                problems.append(f"{role} {method} {url}: {response.status_code}")
            elif closed and response.status_code != 403:
                problems.append(f"{role} {method} {url}: {response.status_code}, expected 403")
            elif not closed and response.status_code in (401, 403):
                problems.append(f"{role} {method} {url}: {response.status_code}, expected access")
    for role, client in clients.items():
        assert client.post("/logout").status_code == 302
        assert client.get("/").status_code == 302, f"{role} still logged in after logout"
    assert not problems, "\n".join(problems)


def test_security_annotator_cannot_read_another_annotators_annotation(app, world):
    bob = world["clients"]["other"]
    sentence_id = world["sentence"].id
    seen = []
    for rule, method in url_rules(app):
        if method != "GET" or rule.endpoint.startswith(ROLE_AREAS["annotator"]):
            continue
        response = bob.get(rule_url(rule, world["values"]))
        if SECRET_COMMENT.encode() in response.get_data():
            seen.append(rule.rule)
    assert not seen, f"bob sees alice's annotation at {seen}"
    own = world["clients"]["annotator"].get(f"/api/sentences/{sentence_id}/annotation")
    assert own.status_code == 200 and own.get_json()["annotation"]["comment"] == SECRET_COMMENT  # the probe works
    assert bob.get(f"/api/sentences/{sentence_id}/annotation").status_code == 404


def test_security_untrusted_text_is_escaped_on_every_page(app, world):
    shown = []
    for role in ("annotator", "reviewer", "admin"):
        client = world["clients"][role]
        for rule, method in url_rules(app):
            if method != "GET" or rule.endpoint.startswith(ROLE_AREAS[role]) or rule.endpoint == "auth.login":
                continue
            response = client.get(rule_url(rule, world["values"]))
            if response.mimetype != "text/html":
                continue  # JSON and downloads carry the text as data, for the page's JS to insert as text
            body = response.get_data(as_text=True)
            for raw in ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>"):
                assert raw not in body, f"{role} {rule.rule} shows raw {raw}"
            assert not re.search(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", body, re.I), rule.rule
            assert "total 49 drones" not in body, f"{rule.rule} evaluated {{{{ 7*7 }}}}"
            if "<script>alert(1)" in HOSTILE and "alert(1)" in body:  # the text is on the page (maybe truncated)
                assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body or "\\u003cscript\\u003ealert(1)" in body, (
                    rule.rule
                )
                shown.append((rule.rule, "{{ 7*7 }}" in body))
    assert shown, "no page showed the report text: the test checks nothing"
    assert any(whole for _, whole in shown), "no page showed {{ 7*7 }} as text"


def test_security_headers_on_every_html_response(app, world):
    problems = []
    pages = 0
    for role, client in [("anonymous", app.test_client())] + [
        (r, world["clients"][r]) for r in ("annotator", "reviewer", "admin")
    ]:
        for rule, method in url_rules(app):
            if method != "GET":
                continue
            response = client.get(rule_url(rule, world["values"]))
            if response.mimetype != "text/html":
                continue
            pages += 1
            csp = response.headers.get("Content-Security-Policy", "")
            if "script-src 'self'" not in csp or "unsafe-inline" in csp or "unsafe-eval" in csp:
                problems.append(f"{role} {rule.rule}: CSP {csp!r}")
            body = re.sub(r'"[^"]*"', '""', response.get_data(as_text=True))  # attribute values are data
            # What such a CSP blocks: inline scripts, inline event handlers and style attributes.
            if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body) and "application/json" not in body:
                problems.append(f"{role} {rule.rule}: an inline <script>")
            if re.search(r"<[^>]+\son[a-z]+\s*=", body):
                problems.append(f"{role} {rule.rule}: an inline event handler")
            if re.search(r"<[^>]+\sstyle\s*=", body):
                problems.append(f"{role} {rule.rule}: an inline style attribute (blocked by style-src 'self')")
            if (
                response.headers.get("X-Frame-Options") != "DENY"
                or response.headers.get("X-Content-Type-Options") != "nosniff"
            ):
                problems.append(f"{role} {rule.rule}: framing or sniffing headers missing")
    assert pages > 5 and not problems, "\n".join(problems)


def test_security_csrf_on_form_and_json_writes(app, world, db):
    page = app.test_client()
    refused = page.post("/login", data={"username": "alice", "password": "correct horse battery"})
    assert refused.status_code == 400
    assert "CSRF token missing" in refused.get_data(as_text=True)
    alice = world["clients"]["annotator"]
    url = f"/api/sentences/{world['sentence'].id}/annotation"
    body = {"status": "done", "spans": [], "comment": "changed"}
    forged = alice.client.put(url, json=body)  # the session cookie, no X-CSRFToken
    assert forged.status_code == 400 and forged.is_json and "CSRF" in forged.get_json()["error"]
    forged_form = alice.client.post("/logout")
    assert forged_form.status_code == 400 and alice.get("/").status_code == 200  # still logged in
    user = db.get(User, world["alice"].id)
    token = issue_api_token(user)
    db.commit()
    scripted = app.test_client().put(
        url, json={**body, "base_version": 1}, headers={"Authorization": f"Bearer {token}"}
    )
    assert scripted.status_code == 200, scripted.get_data(as_text=True)  # a bearer token needs no CSRF token
    assert scripted.get_json()["annotation"]["comment"] == "changed"


def test_security_csrf_walk_every_write_route_refuses_a_forged_request(app, world, db):
    """Every POST, PUT, PATCH and DELETE of the url_map (new routes too), sent by a logged-in admin's
    cookie without a CSRF token, is refused with 400 before it writes anything."""
    from annotator.models import AuditEvent

    admin = world["clients"]["admin"].client
    before = db.scalar(select(func.count()).select_from(AuditEvent))
    db.rollback()
    problems, writes = [], 0
    for rule, method in url_rules(app):
        if method == "GET" or rule.endpoint in PUBLIC:
            continue
        writes += 1
        url = rule_url(rule, world["values"])
        kwargs = {"json": {}} if url.startswith("/api/") else {"data": {}}
        response = getattr(admin, method.lower())(url, **kwargs)
        if response.status_code != 400 or "CSRF" not in response.get_data(as_text=True):
            problems.append(f"{method} {url}: {response.status_code}, expected a CSRF refusal")
    assert writes > 20 and not problems, "\n".join(problems)
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == before


def test_security_session_cookie_flags(app, make_user, monkeypatch, tmp_path, database_url):
    from annotator import create_app
    from tests.conftest import _csrf_from

    make_user("alice")

    def login_cookie(application):
        client = application.test_client()
        token = _csrf_from(client.get("/login").get_data(as_text=True))
        response = client.post(
            "/login", data={"username": "alice", "password": "correct horse battery", "csrf_token": token}
        )
        assert response.status_code == 302
        return [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")][-1]

    cookie = login_cookie(app)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    monkeypatch.setenv("ANNOTATOR_SESSION_COOKIE_SECURE", "true")
    secure = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "k" * 32})
    try:
        cookie = login_cookie(secure)
    finally:
        secure.extensions["annotator.engine"].dispose()
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_security_secret_key_generated_per_instance(monkeypatch, tmp_path):
    from annotator import create_app

    monkeypatch.delenv("ANNOTATOR_SECRET_KEY", raising=False)
    keys = {}
    for folder in ("one", "one", "two"):
        monkeypatch.setenv("ANNOTATOR_INSTANCE_PATH", str(tmp_path / folder))
        app = create_app({"DATABASE_URL": "sqlite://"})
        keys.setdefault(folder, set()).add(app.config["SECRET_KEY"])
        assert stat.S_IMODE(os.stat(tmp_path / folder / "secret_key").st_mode) == 0o600
        assert len(app.config["SECRET_KEY"]) >= 32
    assert len(keys["one"]) == 1 and len(keys["two"]) == 1  # shared by every app on one instance
    assert keys["one"] != keys["two"]
    written = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert written == ["secret_key"]  # no temporary beside the key; compiled templates are kept per user


def test_security_login_lockout_after_repeated_failures(app, make_user):
    from tests.conftest import _csrf_from

    make_user("alice")
    client = app.test_client()
    token = _csrf_from(client.get("/login").get_data(as_text=True))
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert (
            client.post(
                "/login", data={"username": "alice", "password": "wrong password", "csrf_token": token}
            ).status_code
            == 401
        )
    locked = client.post("/login", data={"username": "alice", "password": "correct horse battery", "csrf_token": token})
    assert locked.status_code == 401 and "locked" in locked.get_data(as_text=True)
    assert client.get("/").status_code == 302  # the right password did not log in


def test_security_request_size_limit(app):
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    response = app.test_client().post("/login", data={"username": "x" * 20_000, "password": "y"})
    assert response.status_code == 413
    assert (
        "Request Entity Too Large" in response.get_data(as_text=True)
        or "too large" in response.get_data(as_text=True).lower()
    )


def test_security_upload_refuses_wrong_types_and_ignores_paths(app, world, tmp_path, db):
    import io

    admin = world["clients"]["admin"]
    wrong = admin.post(
        "/admin/projects/p/upload",
        data={"files": (io.BytesIO(b"MZ\x90\x00"), "tool.exe")},
        content_type="multipart/form-data",
    )
    assert wrong.status_code == 400 and "unsupported file type .exe" in wrong.get_data(as_text=True)
    evil = "../../" + uuid.uuid4().hex + ".txt"
    sneaky = admin.post(
        "/admin/projects/p/upload",
        data={"files": (io.BytesIO(b"A report from afar."), evil)},
        content_type="multipart/form-data",
    )
    assert sneaky.status_code == 302, sneaky.get_data(as_text=True)
    name = evil.rsplit("/", 1)[1]
    assert not any(
        p.name == name
        for root in (tmp_path, tmp_path.parent, tmp_path.parent.parent, os.getcwd())
        for p in __import__("pathlib").Path(root).iterdir()
    )
    source = db.scalar(select(Project).where(Project.name == "p")) and [
        r.source for r in db.scalar(select(Project).where(Project.name == "p")).reports
    ]
    assert ".." not in "".join(s or "" for s in source)


@pytest.mark.parametrize(
    "name", ["..", "../..", "%2e%2e", "..%2f..%2fetc", ".{export}", "{export}%2f..%2f..%2f", "{export}/../.."]
)
def test_security_export_downloads_only_from_the_exports_folder(app, world, name):
    reviewer = world["clients"]["reviewer"]
    export = world["values"]["name"]
    assert reviewer.get(f"/projects/p/exports/{export}/manifest.json").status_code == 200  # the probe works
    name = name.format(export=export)
    assert reviewer.get(f"/projects/p/exports/{name}/manifest.json").status_code == 404
    assert reviewer.get(f"/projects/p/exports/{name}.zip").status_code == 404
    assert reviewer.get(f"/projects/p/exports/{export}/..%2f..%2f..%2fetc%2fpasswd").status_code == 404
    assert reviewer.get(f"/projects/p/exports/{export}/{name}").status_code == 404


def test_security_audit_log_records_annotation_gold_and_user_changes(app, world, db):
    from annotator.models import AuditEvent

    sentence = world["sentence"]
    bob = world["clients"]["other"]
    saved = bob.put(
        f"/api/sentences/{sentence.id}/annotation",
        json={"status": "done", "spans": [{"start_char": 0, "end_char": 6, "label": "COUNT"}]},
    )
    assert saved.status_code == 200, saved.get_data(as_text=True)
    gold = world["clients"]["reviewer"].put(
        f"/projects/p/review/{sentence.id}/gold",
        json={
            "version": None,
            "spans": [{"start_char": 0, "end_char": 6, "label": "COUNT", "value": None}],
            "reason": None,
        },
    )
    assert gold.status_code == 200, gold.get_data(as_text=True)
    role = world["clients"]["admin"].post(f"/admin/users/{world['alice'].id}/role", data={"role": "reviewer"})
    assert role.status_code == 302
    db.expire_all()
    users = {u.username: u.id for u in db.scalars(select(User))}
    events = {(e.action, e.entity, e.user_id): e for e in db.scalars(select(AuditEvent))}
    annotation = events.get(("annotation.save", "annotation", users["bob"]))
    assert annotation is not None and annotation.detail["sentence_id"] == sentence.id
    assert annotation.detail["new_spans"] and annotation.entity_id is not None
    gold_events = [
        e for (action, entity, who), e in events.items() if entity == "gold_annotation" and who == users["rita"]
    ]
    assert (
        len(gold_events) == 1 and gold_events[0].detail["sentence_id"] == sentence.id and gold_events[0].detail["added"]
    )
    changed = events.get(("user.role", "user", users["ada"]))
    assert (
        changed is not None
        and changed.entity_id == users["alice"]
        and changed.detail == {"old": "annotator", "new": "reviewer"}
    )


def test_security_ids_beyond_the_database_integer_are_404(app, world):
    """Every route with an <int:...> id, given one no database integer holds: 404, never a 500."""
    values = {**world["values"], "sentence_id": 2**40, "user_id": 10**20}
    checked = 0
    for rule, method in url_rules(app):
        if not {"sentence_id", "user_id"} & set(rule.arguments):
            continue
        response = _send(world["clients"]["admin"], method, rule_url(rule, values))
        assert response.status_code == 404, f"{method} {rule.rule}: {response.status_code}"
        checked += 1
    assert checked >= 5


def test_security_cookie_secure_setting_reads_text_as_a_person_means_it(tmp_path):
    from annotator import create_app

    for text, expected in (("true", True), ("Yes", True), ("1", True), ("False", False), ("no", False), ("off", False)):
        app = create_app(
            {"SECRET_KEY": "x", "DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}", "SESSION_COOKIE_SECURE": text}
        )
        assert app.config["SESSION_COOKIE_SECURE"] is expected, text
        app.extensions["annotator.engine"].dispose()
