"""The OpenAPI 3.1 document of the JSON API (``/api``), served at ``GET /api/openapi.json``.

A plain dict, no Flask: tests check that every ``/api`` route appears here
and that responses validate against these schemas.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from ..limits import MAX_ANNOTATORS_PER_SENTENCE, MAX_GUIDELINE_CHARS


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


NULLABLE_STRING = {"type": ["string", "null"]}
LABEL_KINDS = ("region", "count", "category", "text")  # labels.kinds.KINDS; tests/test_project_create.py checks
NULLABLE_INT = {"type": ["integer", "null"]}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error", "message"],
        "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
    },
    "ValidationError": {
        "type": "object",
        "required": ["error", "message", "details"],
        "properties": {
            "error": {"const": "invalid_annotation"},
            "message": {"type": "string"},
            "details": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["span", "problem"],
                    "properties": {
                        "span": {
                            **NULLABLE_INT,
                            "description": "index in the submitted spans; null for the annotation itself",
                        },
                        "problem": {"type": "string"},
                    },
                },
                "description": "at most MAX_LISTED_PROBLEMS (default 20) problems",
            },
            "more": {"type": "integer", "minimum": 0, "description": "problems found beyond those listed"},
        },
    },
    "ConflictError": {
        "type": "object",
        "required": ["error", "message", "current"],
        "properties": {
            "error": {"const": "conflict"},
            "message": {"type": "string"},
            "current": {"oneOf": [_ref("Annotation"), {"type": "null"}], "description": "the stored annotation"},
        },
    },
    "SentenceFullError": {
        "type": "object",
        "required": ["error", "message"],
        "properties": {"error": {"const": "sentence_full"}, "message": {"type": "string"}},
    },
    "Token": {
        "type": "object",
        "required": ["start_char", "end_char"],
        "properties": {"start_char": {"type": "integer", "minimum": 0}, "end_char": {"type": "integer", "minimum": 1}},
    },
    "Sentence": {
        "type": "object",
        "description": "Offsets are Unicode code points into text, end exclusive.",
        "required": ["id", "text", "report_id", "report_number", "position", "source", "tokens", "context"],
        "properties": {
            "id": {"type": "integer"},
            "text": {"type": "string"},
            "report_id": {"type": "integer", "description": "the report's id in the database"},
            "report_number": {
                "type": "integer",
                "minimum": 1,
                "description": "the report's number within its project (1: the project's first report): show this one",
            },
            "position": {"type": "integer", "minimum": 0},
            "source": NULLABLE_STRING,
            "tokens": {"type": "array", "items": _ref("Token")},
            "context": {
                "type": "object",
                "required": ["before", "after"],
                "properties": {
                    "before": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
                    "after": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
                },
            },
        },
    },
    "Suggestion": {
        "type": "object",
        "required": ["start_char", "end_char", "label", "value", "source"],
        "properties": {
            "start_char": {"type": "integer"},
            "end_char": {"type": "integer"},
            "label": {"type": "string"},
            "value": NULLABLE_STRING,
            "source": {"enum": ["import", "rules", "model"]},
            "score": {
                "type": ["number", "null"],
                "minimum": 0,
                "maximum": 1,
                "description": "the model's confidence where it gives one (spancat); else null",
            },
        },
    },
    "Span": {
        "type": "object",
        "required": ["start_char", "end_char", "label", "value", "suggested"],
        "properties": {
            "start_char": {"type": "integer"},
            "end_char": {"type": "integer"},
            "label": {"type": "string"},
            "value": {
                **NULLABLE_STRING,
                "description": "normalised value: a number, canonical region or outcome category",
            },
            "suggested": {"type": "boolean"},
        },
    },
    "SpanInput": {
        "type": "object",
        "required": ["start_char", "end_char", "label"],
        "properties": {
            "start_char": {"type": "integer", "description": "on a token start"},
            "end_char": {"type": "integer", "description": "on a token end, exclusive"},
            "label": {"type": "string"},
            "value": {**NULLABLE_STRING, "maxLength": 255, "description": "absent or null: computed by the server"},
            "suggested": {"type": "boolean", "default": False},
        },
    },
    "Annotation": {
        "type": "object",
        "required": ["sentence_id", "status", "spans", "comment", "version", "updated_at", "guideline_version"],
        "properties": {
            "sentence_id": {"type": "integer"},
            "status": {"enum": ["done", "skipped", "flagged"]},
            "spans": {"type": "array", "items": _ref("Span")},
            "comment": NULLABLE_STRING,
            "seconds_spent": {"type": "number"},
            "version": {"type": "integer", "minimum": 1},
            "updated_at": {"type": "string", "format": "date-time"},
            "guideline_version": NULLABLE_INT,
        },
    },
    "AnnotationInput": {
        "type": "object",
        "required": ["status"],
        "properties": {
            "status": {"enum": ["done", "skipped", "flagged"]},
            "spans": {
                "type": "array",
                "items": _ref("SpanInput"),
                "default": [],
                "maxItems": 200,
                "description": "at most MAX_SPANS_PER_ANNOTATION (default 200)",
            },
            "comment": {
                **NULLABLE_STRING,
                "maxLength": 10_000,
                "description": "required when flagged; the skip reason when skipped; at most MAX_COMMENT_CHARS (default 10,000)",
            },
            "seconds_spent": {
                "type": ["number", "null"],
                "minimum": 0,
                "maximum": 86_400,
                "description": "time of this visit, added to the total; at most MAX_SECONDS_SPENT (default 86,400)",
            },
            "base_version": {
                **NULLABLE_INT,
                "minimum": 0,
                "maximum": 2**31 - 1,
                "description": "the version loaded; null for a new annotation",
            },
        },
    },
    "Label": {
        "type": "object",
        "required": ["name", "kind", "description", "colour", "key", "retired"],
        "properties": {
            "name": {"type": "string"},
            "kind": {
                "enum": list(LABEL_KINDS),
                "description": "what the label's spans are, and so how their values are normalised",
            },
            "description": {"type": "string"},
            "colour": NULLABLE_STRING,
            "key": {**NULLABLE_STRING, "description": "keyboard shortcut on the labelling page; empty for none"},
            "retired": {"type": "boolean", "description": "kept for existing spans, offered for no new one"},
        },
    },
    "LabelInput": {
        "type": "object",
        "required": ["name", "kind"],
        "additionalProperties": False,
        "properties": {
            "name": {
                "type": "string",
                "maxLength": 40,
                "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]*$",
                "description": "a letter or digit, then letters, digits, '_' and '-' (any script's letters)",
            },
            "kind": {"enum": list(LABEL_KINDS)},
            "description": {"type": "string", "maxLength": 500},
            "colour": {"type": "string", "pattern": "^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$"},
            "key": {
                "type": "string",
                "maxLength": 1,
                "description": "one character, not a command key of the labelling page nor a digit",
            },
            "retired": {"type": "boolean", "default": False},
        },
    },
    "ProjectInput": {
        "type": "object",
        "required": ["name"],
        "additionalProperties": False,
        "properties": {
            "name": {
                "type": "string",
                "minLength": 1,
                "maxLength": 120,
                "description": "a letter or digit, then letters, digits, spaces, '.', '_' and '-'; unique, case aside",
            },
            "lang": {"type": "string", "default": "en", "description": "a language spacy.blank accepts"},
            "annotators_per_sentence": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_ANNOTATORS_PER_SENTENCE,
                "default": 2,
            },
            "restricted": {"type": "boolean", "default": False, "description": "only members may annotate"},
            "labels": {
                "type": "array",
                "items": _ref("LabelInput"),
                "minItems": 1,
                "maxItems": 20,
                "description": "the label scheme; left out: REGION, COUNT and OUTCOME",
            },
            "guidelines": {
                "type": "string",
                "maxLength": MAX_GUIDELINE_CHARS,
                "description": "Markdown; left out: the shipped guidelines",
            },
        },
    },
    "Project": {
        "type": "object",
        "required": [
            "name",
            "lang",
            "annotators_per_sentence",
            "restricted",
            "suggestion_min_score",
            "labels",
            "outcomes",
            "guideline_version",
        ],
        "properties": {
            "name": {"type": "string"},
            "lang": {"type": "string"},
            "annotators_per_sentence": {"type": "integer", "minimum": 1},
            "restricted": {"type": "boolean"},
            "suggestion_min_score": {
                "type": "number",
                "minimum": 0,
                "maximum": 1,
                "description": "model suggestions less confident than this are not offered",
            },
            "labels": {"type": "array", "items": _ref("Label")},
            "outcomes": {"type": "array", "items": {"type": "string"}, "description": "OUTCOME categories"},
            "guideline_version": NULLABLE_INT,
        },
    },
    "Progress": {
        "type": "object",
        "required": ["mine_done", "mine_flagged", "mine_skipped", "project_complete", "project_sentences"],
        "properties": {
            "mine_done": {"type": "integer", "description": "the caller's done annotations (not flagged ones)"},
            "mine_flagged": {"type": "integer", "description": "the caller's flagged annotations"},
            "mine_skipped": {"type": "integer"},
            "project_complete": {"type": "integer", "description": "sentences with all the annotations they need"},
            "project_sentences": {"type": "integer"},
        },
    },
    "ProjectWithProgress": {
        "allOf": [
            _ref("Project"),
            {"type": "object", "required": ["progress"], "properties": {"progress": _ref("Progress")}},
        ]
    },
    "NextSentence": {
        "type": "object",
        "required": ["sentence", "suggestions", "annotation", "project", "progress", "lease_expires_at"],
        "properties": {
            "sentence": _ref("Sentence"),
            "suggestions": {"type": "array", "items": _ref("Suggestion")},
            "annotation": {"type": "null"},
            "project": _ref("Project"),
            "progress": _ref("Progress"),
            "lease_expires_at": {"type": "string", "format": "date-time", "description": "UTC"},
        },
    },
    "SentenceView": {
        "type": "object",
        "required": ["sentence", "suggestions", "annotation", "project"],
        "properties": {
            "sentence": _ref("Sentence"),
            "suggestions": {"type": "array", "items": _ref("Suggestion")},
            "annotation": {"oneOf": [_ref("Annotation"), {"type": "null"}], "description": "the caller's own"},
            "project": _ref("Project"),
        },
    },
    "AnnotationEnvelope": {
        "type": "object",
        "required": ["annotation"],
        "properties": {"annotation": _ref("Annotation")},
    },
    "HistoryItem": {
        "type": "object",
        "required": ["sentence_id", "status", "updated_at", "text"],
        "properties": {
            "sentence_id": {"type": "integer"},
            "status": {"enum": ["done", "skipped", "flagged"]},
            "updated_at": {"type": "string", "format": "date-time"},
            "text": {"type": "string", "description": "truncated to 120 characters"},
        },
    },
}

UNAUTHORIZED = _error("Not logged in and no valid bearer token.")
FORBIDDEN = _error("The project is restricted to members and the caller is not one.")
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
                "200": _json({"type": "array", "items": _ref("ProjectWithProgress")}, "Projects by name"),
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
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("ProjectInput")}}},
            "responses": {
                "201": _json(_ref("ProjectWithProgress"), "Created: the project as the list shows it"),
                "400": _error("Not a JSON object, an unknown field, a field of the wrong type, or missing CSRF token"),
                "401": UNAUTHORIZED,
                "403": _error("The caller is not an admin"),
                "409": _error("A project of that name exists already (case aside)"),
                "413": _error("The body is larger than MAX_JSON_BODY_BYTES (default 1 MiB)"),
                "422": _error(
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
                "200": _json(_ref("NextSentence"), "A sentence leased to the caller"),
                "204": {"description": "Nothing left for the caller in this project"},
                "401": UNAUTHORIZED,
                "403": FORBIDDEN,
                "404": _error("No such project"),
            },
        }
    },
    "/api/projects/{project}/progress": {
        "get": {
            "summary": "Progress counts",
            "operationId": "projectProgress",
            "parameters": [PROJECT_PARAM],
            "responses": {
                "200": _json(_ref("Progress"), "Counts"),
                "401": UNAUTHORIZED,
                "403": FORBIDDEN,
                "404": _error("No such project"),
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
                "200": _json({"type": "array", "items": _ref("HistoryItem")}, "History entries"),
                "400": _error("limit or offset is not an integer in its range"),
                "401": UNAUTHORIZED,
                "403": FORBIDDEN,
                "404": _error("No such project"),
            },
        }
    },
    "/api/sentences/{id}": {
        "get": {
            "summary": "A sentence with suggestions and the caller's own annotation (to revisit it)",
            "operationId": "getSentence",
            "parameters": [SENTENCE_PARAM],
            "responses": {
                "200": _json(_ref("SentenceView"), "The sentence"),
                "401": UNAUTHORIZED,
                "403": FORBIDDEN,
                "404": _error("No such sentence"),
            },
        }
    },
    "/api/sentences/{id}/annotation": {
        "get": {
            "summary": "The caller's own annotation of a sentence",
            "operationId": "getAnnotation",
            "parameters": [SENTENCE_PARAM],
            "responses": {
                "200": _json(_ref("AnnotationEnvelope"), "The caller's annotation"),
                "401": UNAUTHORIZED,
                "403": FORBIDDEN,
                "404": _error("No such sentence, or the caller has not annotated it"),
            },
        },
        "put": {
            "summary": "Save the caller's annotation of a sentence",
            "description": (
                "Creates or replaces the caller's annotation. Send base_version = the version loaded "
                "(null for a new annotation). A retried save whose content is already stored returns 200 "
                "unchanged. Cookie sessions must send the X-CSRFToken header; bearer tokens need none."
            ),
            "operationId": "putAnnotation",
            "parameters": [SENTENCE_PARAM],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("AnnotationInput")}}},
            "responses": {
                "200": _json(_ref("AnnotationEnvelope"), "Saved (or already saved)"),
                "400": _error(
                    "Not a JSON object, nested deeper than MAX_JSON_DEPTH, a NUL or unpaired surrogate in a string, "
                    "wrong top-level types or integers out of range, or missing CSRF token"
                ),
                "401": UNAUTHORIZED,
                "403": FORBIDDEN,
                "404": _error("No such sentence"),
                "409": _json(
                    {"oneOf": [_ref("ConflictError"), _ref("SentenceFullError")]},
                    "conflict: changed since base_version, current holds the stored annotation; "
                    "sentence_full: the sentence has all the annotators it needs and the caller holds no lease on it",
                ),
                "413": _error("The body is larger than MAX_JSON_BODY_BYTES (default 1 MiB)"),
                "422": _json(
                    _ref("ValidationError"),
                    "Invalid: details name each span and what is wrong (more than MAX_SPANS_PER_ANNOTATION spans is one problem)",
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
