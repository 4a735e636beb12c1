"""Logging in and out, in a test client and in Chromium."""
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
        assert client.post("/login", data={"username": "ann", "password": "wrong password", "csrf_token": token}).status_code == 401
    locked = client.post("/login", data={"username": "ann", "password": "correct horse battery", "csrf_token": token})
    assert locked.status_code == 429
    assert "locked" in locked.get_data(as_text=True)


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
