"""Edges: one blueprint per area, wired here."""

from __future__ import annotations

from flask import Flask, abort, flash, g, jsonify, redirect, request
from flask_login import current_user, login_url
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from ..extensions import csrf, get_session, login_manager
from ..limits import MAX_ROW_ID, text_problem
from ..models import User

# Scripts and styles come only from our own static folder.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


class RowId(IntegerConverter):
    """``<int:...>`` in every route: an id beyond a database integer is 404.

    Without the bound, /api/sentences/99999999999999999999 reaches the query and
    fails there (SQLite OverflowError, PostgreSQL "integer out of range"): a 500.
    NotFound is raised here because a converter's ValidationError makes
    Werkzeug answer 405 to some methods.
    """

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if number > MAX_ROW_ID:
            raise NotFound()
        return number


def register(app: Flask) -> None:
    from . import (
        admin,
        annotate,
        api,
        api_projects,
        auth,
        browse,
        errors,
        exports,
        label_admin,
        main,
        model_pages,
        new_project,
        project_admin,
        review,
    )

    # The project pages are admin pages: importing their modules puts them on the admin blueprint.
    assert project_admin.bp is new_project.bp is admin.bp
    # The project routes of the API: importing their module puts them on the api blueprint.
    assert api_projects.bp is api.bp

    app.url_map.converters["int"] = RowId  # before any rule is added

    for module in (auth, main, annotate, api, review, browse, exports, model_pages, admin, label_admin, errors):
        app.register_blueprint(module.bp)

    @login_manager.user_loader
    def load_user(session_token: str) -> User | None:
        from sqlalchemy import select

        if bearer_token(request) is not None:
            return None  # a request with a token is that token's user, whatever cookie it carries
        user = get_session().scalar(select(User).where(User.session_token == session_token))
        return user if user is not None and user.active else None

    @login_manager.unauthorized_handler
    def needs_login():
        # A page's fetch follows a redirect to the login page and reads its 200 as a success: a JSON request
        # is told 401 instead (the API's own routes answer it in api.require_login).
        if errors.wants_json():
            return jsonify(
                error="unauthorized", message="You are not logged in (any more): log in, then try again."
            ), 401
        flash(login_manager.login_message)
        return redirect(login_url(login_manager.login_view, next_url=request.url))

    @login_manager.request_loader
    def load_user_from_token(req) -> User | None:
        token = bearer_token(req)
        if token is None:
            return None
        from ..services.users import user_for_token

        user = user_for_token(get_session(), token)
        g.token_user = user is not None
        return user

    @app.before_request
    def refuse_unstorable_text() -> None:
        # One check for every query parameter and form field: a NUL would reach PostgreSQL
        # as an error (SQLite would store it). Form and URL decoding already replace what
        # is not UTF-8, so no unpaired surrogate arrives this way; JSON bodies: web.inputs.
        for source, values in (("query parameter", request.args), ("form field", request.form)):
            for key, value in values.items(multi=True):
                problem = text_problem(key) or text_problem(value)
                if problem is not None:
                    abort(400, description=f"The {source} {key[:40]!r} {problem}.")

    @app.before_request
    def check_csrf() -> None:
        # Browser writes carry a CSRF token; API-token requests carry no cookie to forge.
        if request.method not in ("POST", "PUT", "PATCH", "DELETE"):
            return
        if bearer_token(request) is not None:
            # A token request carries no cookie to forge; a bad token must not fall back on the cookie.
            if not current_user.is_authenticated or not g.get("token_user"):
                abort(401)
            return
        if request.path.startswith("/api/") and not current_user.is_authenticated:
            return  # nothing can be written without a login: the API answers 401, not a CSRF 400
        csrf.protect()

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    @app.context_processor
    def inject_globals():
        # Templates link only to pages that exist.
        return {"current_user": current_user, "url_endpoints": app.view_functions.keys()}


def bearer_token(req) -> str | None:
    header = req.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None
