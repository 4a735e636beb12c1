"""Reading JSON bodies and query parameters within the limits (``annotator.limits``).

Every route that reads JSON or a numeric query parameter goes through here,
so each refusal is the same JSON ``{"error", "message"}`` naming the limit:
413 for a body over MAX_JSON_BODY_BYTES, 400 for a body that is not a JSON
object, nests deeper than MAX_JSON_DEPTH, or holds NaN or Infinity (not
JSON), a NUL or an unpaired surrogate anywhere, and 400 for a query
parameter out of its range.
"""

from __future__ import annotations

import math
from typing import Any

from flask import current_app, request

from ..limits import LimitExceeded, Limits, NonFiniteNumber, parse_int, parse_json, strings_problem


class BadInput(Exception):
    """A request refused before any work: answered by web.errors, as JSON to the API and to JSON bodies,
    else as the error page."""

    def __init__(self, status: int, error: str, message: str, **extra: Any):
        super().__init__(message)
        self.status, self.error, self.message, self.extra = status, error, message, extra


def limits() -> Limits:
    """The limits in force for this app (its config, defaults for what is not set)."""
    return Limits.from_config(current_app.config)


def json_object(shape: str) -> dict[str, Any]:
    """The request's body as a JSON object; ``shape`` (e.g. '{"status", "spans"}') goes into the 400 message.

    Read and checked before anything is stored: the size from Content-Length
    first (and the bytes read, for a body sent without one), then depth and
    text while parsing.
    """
    bounds = limits()
    most = bounds.max_json_body_bytes
    if request.content_length is not None and request.content_length > most:
        raise BadInput(
            413, "too_large", f"The body is larger than {most:,} bytes (MAX_JSON_BODY_BYTES); send less at once."
        )
    if not request.is_json:
        raise BadInput(400, "bad_request", f"Send a JSON object {shape} with Content-Type: application/json.")
    data = request.get_data(cache=True)
    if len(data) > most:
        raise BadInput(
            413, "too_large", f"The body is larger than {most:,} bytes (MAX_JSON_BODY_BYTES); send less at once."
        )
    try:
        body = parse_json(data, bounds.max_json_depth)
    except LimitExceeded as exc:
        raise BadInput(400, "bad_request", f"{exc.message}; send a flat JSON object {shape}.") from None
    except NonFiniteNumber as exc:
        raise BadInput(400, "bad_request", f"Not saved: {exc}.") from None
    except (ValueError, UnicodeDecodeError):
        raise BadInput(400, "bad_request", f"The body is not valid JSON; send a JSON object {shape}.") from None
    if not isinstance(body, dict):
        raise BadInput(400, "bad_request", f"Send a JSON object {shape} with Content-Type: application/json.")
    problem = strings_problem(body)
    if problem is not None:
        raise BadInput(400, "bad_request", f"Not saved: {problem}.")
    return body


def is_finite_number(value: Any) -> bool:
    """A JSON number that is neither NaN nor infinite; an integer of any size counts (no float conversion)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return isinstance(value, int) or math.isfinite(value)


def query_int(name: str, default: int, low: int, high: int) -> int:
    """``?name=`` as an integer from ``low`` to ``high`` (400 otherwise), ``default`` when absent."""
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        return parse_int(raw, name, low, high)
    except ValueError as exc:
        raise BadInput(400, "bad_request", f"{exc}.") from None
