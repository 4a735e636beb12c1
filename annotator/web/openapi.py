"""The OpenAPI 3.1 document of the JSON API (``/api``), served at ``GET /api/openapi.json``.

A plain dict, no Flask: tests check that every ``/api`` route appears here
and that responses validate against its schemas (``openapi_schemas``).
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from .openapi_schemas import SCHEMAS, error_response, json_content, schema_ref

UNAUTHORIZED = error_response("Not logged in and no valid bearer token.")
FORBIDDEN = error_response("The project is restricted to members and the caller is not one.")
PROJECT_PARAM = {
    "name": "project",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "project name",
}
SENTENCE_PARAM = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer"},
    "description": "sentence id",
}
SECURITY = [{"bearer": []}, {"cookie": []}]

PATHS: dict[str, Any] = {
    "/api/openapi.json": {
        "get": {
            "summary": "This document",
            "operationId": "openapi",
            "security": [],
            "responses": {
                "200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}
            },
        }
    },
    "/api/projects": {
        "get": {
            "summary": "Projects the caller may work on, with their progress",
            "operationId": "listProjects",
            "responses": {
                "200": json_content({"type": "array", "items": schema_ref("ProjectWithProgress")}, "Projects by name"),
                "401": UNAUTHORIZED,
            },
        },
        "post": {
            "summary": "Create a project (admins)",
            "description": (
                "Creates a project with its label scheme and version 1 of its guidelines, and logs it in the "
                "audit log. An open project asking for more annotators per sentence than there are active "
                "annotators is refused (422); a restricted one is created without members. Cookie sessions "
                "must send the X-CSRFToken header; bearer tokens need none."
            ),
            "operationId": "createProject",
            "requestBody": {"required": True, "content": {"application/json": {"schema": schema_ref("ProjectInput")}}},
            "responses": {
                "201": json_content(schema_ref("ProjectWithProgress"), "Created: the project as the list shows it"),
                "400": error_response(
                    "Not a JSON object, an unknown field, a field of the wrong type, or missing CSRF token"
                ),
                "401": UNAUTHORIZED,
                "403": error_response("The caller is not an admin"),
                "409": error_response("A project of that name exists already (case aside)"),
                "413": error_response("The body is larger than MAX_JSON_BODY_BYTES (default 1 MiB)"),
                "422": error_response(
                    "Settings no project can have: a bad name, language, label scheme or guidelines, annotators "
                    "per sentence out of range or more than the active annotators of an open project"
                ),
            },
        },
    },
    "/api/projects/{project}/next": {
        "get": {
            "summary": "Claim the next sentence to annotate",
            "description": (
                "Leases a sentence to the caller until lease_expires_at. Asking again while the lease "
                "holds returns the same sentence. 204 when nothing is left for the caller."
            ),
            "operationId": "nextSentence",
            "parameters": [PROJECT_PARAM],
            "responses": {
                "200": json_content(schema_ref("NextSentence"), "A sentence leased to the caller"),
                "204": {"description": "Nothing left for the caller in this project"},
                "401": UNAUTHORIZED,
                "403": FORBIDDEN,
                "404": error_response("No such project"),
            },
        }
    },
    "/api/projects/{project}/progress": {
        "get": {
            "summary": "Progress counts",
            "operationId": "projectProgress",
            "parameters": [PROJECT_PARAM],
            "responses": {
                "200": json_content(schema_ref("Progress"), "Counts"),
                "401": UNAUTHORIZED,
                "403": FORBIDDEN,
                "404": error_response("No such project"),
            },
        }
    },
    "/api/projects/{project}/history": {
        "get": {
            "summary": "The caller's annotated sentences, newest first",
            "operationId": "projectHistory",
            "parameters": [
                PROJECT_PARAM,
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
                },
                {
                    "name": "offset",
                    "in": "query",
                    "schema": {
                        "type": "integer",
                        "minimum": 0,
                        "maximum": 1_000_000,
                        "default": 0,
                        "description": "at most MAX_QUERY_OFFSET (default 1,000,000)",
                    },
                },
            ],
            "responses": {
                "200": json_content({"type": "array", "items": schema_ref("HistoryItem")}, "History entries"),
                "400": error_response("limit or offset is not an integer in its range"),
                "401": UNAUTHORIZED,
                "403": FORBIDDEN,
                "404": error_response("No such project"),
            },
        }
    },
    "/api/sentences/{id}": {
        "get": {
            "summary": "A sentence with suggestions and the caller's own annotation (to revisit it)",
            "operationId": "getSentence",
            "parameters": [SENTENCE_PARAM],
            "responses": {
                "200": json_content(schema_ref("SentenceView"), "The sentence"),
                "401": UNAUTHORIZED,
                "403": FORBIDDEN,
                "404": error_response("No such sentence"),
            },
        }
    },
    "/api/sentences/{id}/annotation": {
        "get": {
            "summary": "The caller's own annotation of a sentence",
            "operationId": "getAnnotation",
            "parameters": [SENTENCE_PARAM],
            "responses": {
                "200": json_content(schema_ref("AnnotationEnvelope"), "The caller's annotation"),
                "401": UNAUTHORIZED,
                "403": FORBIDDEN,
                "404": error_response("No such sentence, or the caller has not annotated it"),
            },
        },
        "put": {
            "summary": "Save the caller's annotation of a sentence",
            "description": (
                "Creates or replaces the caller's annotation. Send base_version = the version loaded "
                "(null for a new annotation). A retried save whose content is already stored returns 200 "
                "unchanged; so does a save of the stored content as it is (its version stays). "
                "Cookie sessions must send the X-CSRFToken header; bearer tokens need none."
            ),
            "operationId": "putAnnotation",
            "parameters": [SENTENCE_PARAM],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": schema_ref("AnnotationInput")}},
            },
            "responses": {
                "200": json_content(schema_ref("AnnotationEnvelope"), "Saved (or already saved)"),
                "400": error_response(
                    "Not a JSON object, nested deeper than MAX_JSON_DEPTH, a NUL or unpaired surrogate in a string, "
                    "wrong top-level types or integers out of range, or missing CSRF token"
                ),
                "401": UNAUTHORIZED,
                "403": FORBIDDEN,
                "404": error_response("No such sentence"),
                "409": json_content(
                    {
                        "oneOf": [
                            schema_ref("ConflictError"),
                            schema_ref("SentenceFullError"),
                            schema_ref("SchemeChangedError"),
                        ]
                    },
                    "conflict: changed since base_version, current holds the stored annotation; "
                    "sentence_full: the sentence has all the annotators it needs and the caller holds no lease on it; "
                    "scheme_changed: a label was renamed, deleted or given another kind while the save was made "
                    "(nothing saved; reload the project's labels and label again)",
                ),
                "413": error_response("The body is larger than MAX_JSON_BODY_BYTES (default 1 MiB)"),
                "422": json_content(
                    {"oneOf": [schema_ref("ValidationError"), schema_ref("IncidentsError")]},
                    "invalid_annotation: details name each span and what is wrong (more than MAX_SPANS_PER_ANNOTATION "
                    "spans is one problem; a source or model_version that is not an accepted suggestion's, see "
                    "SpanInput, is a problem of its span); invalid_incidents: details list each broken incident rule",
                ),
            },
        },
    },
}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "annotator labelling API",
        "version": "1.0.0",
        "description": (
            "Label sentences of incident reports with REGION, COUNT and OUTCOME spans. Offsets are Unicode "
            "code points (not UTF-16 units), end exclusive, on the sentence's tokens. Errors are "
            '{"error", "message"}, plus details or current where stated.'
        ),
    },
    "servers": [{"url": "/"}],
    "security": SECURITY,
    "paths": PATHS,
    "components": {
        "schemas": SCHEMAS,
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "description": "a token from `annotator users token NAME`"},
            "cookie": {
                "type": "apiKey",
                "in": "cookie",
                "name": "session",
                "description": "the login session; writes need X-CSRFToken",
            },
        },
    },
}


def document() -> dict[str, Any]:
    """A copy of the OpenAPI document."""
    return deepcopy(DOCUMENT)
