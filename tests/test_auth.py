"""Logging in and out, in a test client and in Chromium."""

import re

import pytest


def test_auth_login_and_logout_invalidates_the_cookie(app, make_user):
    from tests.conftest import Browserless

    make_user("ann", "annotator")
    client = Browserless(app, "ann", "correct horse battery")
    assert client.get("/").status_code == 200
    cookie = client.client.get_cookie("session")
    assert client.post("/logout").status_code == 302
    # Replaying the old cookie does not log back in: the session token was rotated.
    replay = app.test_client()
    replay.set_cookie("session", cookie.value)
    assert replay.get("/").status_code == 302


def test_auth_wrong_password_then_lockout(app, make_user):
    import re

    make_user("ann", "annotator")
    client = app.test_client()
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert (
            client.post(
                "/login", data={"username": "ann", "password": "wrong password", "csrf_token": token}
            ).status_code
            == 401
        )
    locked = client.post("/login", data={"username": "ann", "password": "correct horse battery", "csrf_token": token})
    # Locked answers as unknown and wrong do (401, one message): no way to tell which names exist.
    assert locked.status_code == 401
    assert "locked" in locked.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_auth_login_form_without_csrf_is_rejected(app, make_user):
    make_user("ann", "annotator")
    response = app.test_client().post("/login", data={"username": "ann", "password": "correct horse battery"})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)


def test_auth_pages_need_login(app):
    response = app.test_client().get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_auth_security_headers(app):
    response = app.test_client().get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.browser
def test_auth_login_in_chromium(live_app, page, browser_login):
    browser_login(page, "ann", "annotator")
    assert page.locator(".who").text_content().startswith("ann")
    page.click("button:has-text('Log out')")
    page.wait_for_url(f"{live_app.base_url}/login")


@pytest.mark.browser
def test_auth_refused_password_reset_names_the_account(live_app, live_db, page, browser_login):
    """An empty password in one row of the Users page said only "A password is at least 8 characters.",
    at the top of the page, far from the row: the message now names whose password was not changed."""
    from annotator.services.users import create_user

    create_user(live_db, "ann", "annotator", "correct horse battery")
    live_db.commit()
    browser_login(page, "boss", "admin")
    page.goto(f"{live_app.base_url}/admin/users")
    page.get_by_label("New password for ann").fill("")  # pressed with the field left empty
    page.locator("main tbody tr").filter(has=page.get_by_label("New password for ann")).locator(
        "button:has-text('Reset password')"
    ).click()
    page.wait_for_load_state()
    assert page.locator(".flash-error").inner_text() == (
        "ann's password was not changed: a password is 8 to 1,024 characters."
    )


# --- Hardened login: redirects, one answer for every refusal, CSRF rotation, token revocation ----------

LOCAL = ["/", "/projects/p/label", "/projects/p/review?label=COUNT&type=label", "/projects/caf%C3%A9/label"]
OFF_SITE = [
    "//evil.example/",
    "///evil.example/",
    "/\\evil.example/",
    "\\\\evil.example",
    "/\t/evil.example/",
    "/\n/evil.example/",
    "/\r\n/evil.example/",
    "/\r\nSet-Cookie:x=1",
    "https://evil.example/",
    "http:/evil.example",
    "javascript:alert(1)",
    "evil.example",
    "/\x00/evil.example",
    "/\x7f/evil.example",
    "/\u2028/evil.example",
    "/ /evil.example",
    "",
]


def _login_client(app):
    from tests.conftest import _csrf_from

    client = app.test_client()
    return client, _csrf_from(client.get("/login").get_data(as_text=True))


@pytest.mark.parametrize("target", LOCAL + OFF_SITE)
def test_auth_local_path_accepts_only_paths_on_this_site(target):
    from annotator.web.auth import local_path

    assert local_path(target) == (target if target in LOCAL else None)


@pytest.mark.parametrize("target", LOCAL[1:] + OFF_SITE)
def test_auth_login_redirects_only_to_local_paths(app, make_user, target):
    from urllib.parse import quote

    make_user("ann")
    client, token = _login_client(app)
    response = client.post(
        "/login?next=" + quote(target, safe=""),
        data={"username": "ann", "password": "correct horse battery", "csrf_token": token},
    )
    if "\x00" in target:  # refused with every other NUL in a query (web.register): no redirect at all
        assert response.status_code == 400 and "Location" not in response.headers
        return
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    location = response.headers["Location"]
    assert location == (target if target in LOCAL else "/"), location
    assert "\r" not in location and "\n" not in location


def test_auth_same_answer_for_unknown_inactive_locked_and_wrong(app, db, make_user):
    from sqlalchemy import select

    from annotator.models import User

    for name in ("wrong", "inactive", "locked"):
        make_user(name)
    inactive = db.scalar(select(User).where(User.username == "inactive"))
    inactive.active = False
    db.commit()
    client, token = _login_client(app)
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        client.post("/login", data={"username": "locked", "password": "wrong password", "csrf_token": token})
    answers = {}
    for name, password in (
        ("nobody", "correct horse battery"),
        ("wrong", "wrong password"),
        ("inactive", "correct horse battery"),
        ("locked", "correct horse battery"),
    ):
        response = client.post("/login", data={"username": name, "password": password, "csrf_token": token})
        body = response.get_data(as_text=True)
        flashes = re.findall(r'<p class="flash[^"]*"[^>]*>([^<]*)</p>', body)
        page = re.sub(
            r'"[\w-]+\.[\w-]+\.[\w-]+"', '"TOKEN"', body.replace(f'value="{name}"', 'value=""')
        )  # signed, timestamped
        answers[name] = (response.status_code, flashes, page)
    assert answers["nobody"][:2] == (
        401,
        [
            "Wrong username or password, or the account is locked after too many failed attempts. Try again in a few minutes."
        ],
    )
    assert answers["wrong"] == answers["nobody"] == answers["inactive"] == answers["locked"]
    assert client.get("/").status_code == 302  # none of them logged in


def test_auth_failures_are_counted_and_lock_the_account(app, db, make_user):
    from sqlalchemy import func, select

    from annotator.models import AuditEvent, User

    make_user("ann")
    client, token = _login_client(app)
    limit = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(limit + 3):
        assert (
            client.post(
                "/login", data={"username": "ann", "password": "wrong password", "csrf_token": token}
            ).status_code
            == 401
        )
    user = db.scalar(select(User).where(User.username == "ann"))
    assert user.locked_until is not None
    checked = db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "login.failure"))
    assert checked == limit  # attempts on a locked account check no password
    assert db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "lockout")) == 1


def test_auth_success_clears_the_failure_count(app, db, make_user):
    from sqlalchemy import select

    from annotator.models import User

    make_user("ann")
    client, token = _login_client(app)
    for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
        client.post("/login", data={"username": "ann", "password": "wrong password", "csrf_token": token})
    assert (
        client.post(
            "/login", data={"username": "ann", "password": "correct horse battery", "csrf_token": token}
        ).status_code
        == 302
    )
    user = db.scalar(select(User).where(User.username == "ann"))
    assert (user.failed_logins, user.locked_until) == (0, None)


@pytest.mark.parametrize(
    "username,password,status",
    [("ann\x00", "correct horse battery", 400), ("ann", "pass\x00word", 400), ("a" * 80, "x" * 1024, 401)],
)
def test_auth_login_with_unstorable_text_is_a_plain_refusal(app, db, make_user, username, password, status):
    from sqlalchemy import func, select

    from annotator.models import AuditEvent

    make_user("ann")
    app.config["PROPAGATE_EXCEPTIONS"] = False
    client, token = _login_client(app)
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert response.status_code == status
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == 0


def _flashes(response) -> list[str]:
    return re.findall(r'<p class="flash[^"]*"[^>]*>([^<]*)</p>', response.get_data(as_text=True))


@pytest.mark.parametrize(
    "fields",
    [
        {"username": "", "password": "correct horse battery"},
        {"username": "  ", "password": "correct horse battery"},
        {"username": "ann", "password": ""},
        {"password": "correct horse battery"},
        {"username": "ann"},
        {},
    ],
    ids=["empty-username", "blank-username", "empty-password", "no-username", "no-password", "neither"],
)
def test_auth_login_with_a_blank_field_asks_for_both(app, db, make_user, fields):
    from sqlalchemy import func, select

    from annotator.models import AuditEvent, User

    make_user("ann")
    client, token = _login_client(app)
    response = client.post("/login", data={**fields, "csrf_token": token})
    assert (response.status_code, _flashes(response)) == (400, ["Enter your username and password."])
    assert 'name="username"' in response.get_data(as_text=True)  # the form again, to fill in
    assert db.scalar(select(User.failed_logins).where(User.username == "ann")) == 0  # no attempt counted
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == 0
    assert client.get("/").status_code == 302


def test_auth_login_with_a_password_of_spaces_is_not_blank(app, make_user):
    make_user("ann", password=" " * 8)  # the command line sets any password of 8 to 1,024 characters
    client, token = _login_client(app)
    response = client.post("/login", data={"username": "ann", "password": " " * 8, "csrf_token": token})
    assert response.status_code == 302, _flashes(response)


@pytest.mark.parametrize(
    ("username", "password", "counted"),
    [("a" * 81, "correct horse battery", 0), (" " + "a" * 81, "x", 0), ("ann", "x" * 1025, 1)],
    ids=["long-username", "long-username-after-a-space", "long-password"],
)
def test_auth_login_with_an_over_long_field_is_a_failed_login(app, db, make_user, username, password, counted):
    from sqlalchemy import func, select

    from annotator.models import AuditEvent, User
    from annotator.web.auth import LOGIN_REFUSED

    make_user("ann")
    app.config["PROPAGATE_EXCEPTIONS"] = False
    client, token = _login_client(app)
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert (response.status_code, _flashes(response)) == (401, [LOGIN_REFUSED])
    # No account has such a name; a password longer than any account's is a wrong one, and counts as one.
    assert db.scalar(select(User.failed_logins).where(User.username == "ann")) == counted
    failures = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "login.failure")
    assert db.scalar(failures) == counted
    assert client.get("/").status_code == 302


def test_auth_login_rotates_the_csrf_token(app, make_user):
    from tests.conftest import _csrf_from

    make_user("ann")
    client, before = _login_client(app)
    assert (
        client.post(
            "/login", data={"username": "ann", "password": "correct horse battery", "csrf_token": before}
        ).status_code
        == 302
    )
    stale = client.post("/logout", headers={"X-CSRFToken": before})
    assert stale.status_code == 400 and "CSRF" in stale.get_data(as_text=True)
    after = _csrf_from(client.get("/").get_data(as_text=True))
    assert after != before
    assert client.post("/logout", headers={"X-CSRFToken": after}).status_code == 302


def test_auth_password_reset_revokes_the_api_token(app, db, login):
    from sqlalchemy import select

    from annotator.models import User
    from annotator.services.users import issue_api_token

    admin = login("ada", "admin")
    login("ann")
    user = db.scalar(select(User).where(User.username == "ann"))
    token = issue_api_token(user)
    db.commit()
    bearer = {"Authorization": f"Bearer {token}"}
    assert app.test_client().get("/api/projects", headers=bearer).status_code == 200
    assert admin.post(f"/admin/users/{user.id}/password", data={"password": "a new long password"}).status_code == 302
    assert app.test_client().get("/api/projects", headers=bearer).status_code == 401
