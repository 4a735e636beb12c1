"""The bare round trip behind Flask: the framework's own share of a labelling request.

The same claim and save as ``_bare_roundtrip`` (the same SQL on the same DB-API
connection, one transaction per request, via ``_bare_roundtrip.handle``), served by a
Flask app: routing, the request and response objects, ``jsonify``, an app and
request context per request. No sessions, CSRF, Flask-Login or SQLAlchemy: what is
left between this and annotator is the app's own work (SQLAlchemy, the ORM, auth,
validation, suggestions, audit), between this and the bare function Flask's.
"""

from __future__ import annotations

from _bare_roundtrip import handle
from flask import Flask, jsonify, request

app = Flask(__name__)


def _answer(status: int, payload):
    return ("", status) if payload is None else (jsonify(payload), status)


@app.get("/healthz")
def healthz():
    return jsonify(ok=True)


@app.get("/api/projects/<name>/next")
def next_sentence(name: str):
    return _answer(*handle("GET", request.path, request.headers.get("Authorization", ""), dict))


@app.put("/api/sentences/<int:sentence_id>/annotation")
def put_annotation(sentence_id: int):
    return _answer(*handle("PUT", request.path, request.headers.get("Authorization", ""), request.get_json))
