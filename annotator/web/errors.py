"""Error pages: JSON for API clients and JSON requests, HTML for people; roll back on 500."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from .inputs import BadInput

bp = Blueprint("errors", __name__)


def wants_json() -> bool:
    """Whether an error goes back as JSON: to the API, to a request that sent a JSON body (a page's
    fetch, a script), and to a client that prefers JSON to HTML; else it is the error page."""
    if request.path.startswith("/api/") or request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def error_response(status: int, title: str, message: str):
    if wants_json():
        return jsonify(error=title, message=message), status
    return render_template("error.html", status=status, title=title, message=message), status


@bp.app_errorhandler(BadInput)
def bad_input(exc: BadInput):
    """A request refused by web.inputs before any work: JSON for the API and JSON bodies, else an error page
    (a page's query parameter out of range, say)."""
    session = g.get("db_session")
    if session is not None:
        session.rollback()
    if wants_json():
        return jsonify(error=exc.error, message=exc.message, **exc.extra), exc.status
    title = HTTP_STATUS_CODES.get(exc.status, "Bad Request")
    return render_template("error.html", status=exc.status, title=title, message=exc.message), exc.status


@bp.app_errorhandler(CSRFError)
def csrf_error(exc: CSRFError):
    return error_response(400, "CSRF token missing or invalid", f"{exc.description} Reload the page and try again.")


@bp.app_errorhandler(HTTPException)
def http_error(exc: HTTPException):
    body, status = error_response(exc.code or 500, exc.name, exc.description or exc.name)
    # Keep what the exception says beside its body: Allow on 405, Retry-After, WWW-Authenticate.
    headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
    return body, status, headers


@bp.app_errorhandler(Exception)
def server_error(exc: Exception):
    session = g.get("db_session")
    if session is not None:
        session.rollback()
    from flask import current_app

    current_app.logger.exception("unhandled error")
    return error_response(
        500, "Internal Server Error", "Something went wrong on our side; nothing was saved. Try again."
    )
