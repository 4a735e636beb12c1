"""The schemas of the OpenAPI document (``components/schemas``) and the helpers that refer to them.

Plain dicts, no Flask; ``web/openapi.py`` builds the document's paths on them.
"""

from __future__ import annotations

from typing import Any


def schema_ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def json_content(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def error_response(description: str) -> dict[str, Any]:
    return json_content(schema_ref("Error"), description)


NULLABLE_STRING = {"type": ["string", "null"]}
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
            "current": {"oneOf": [schema_ref("Annotation"), {"type": "null"}], "description": "the stored annotation"},
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
        "required": ["id", "text", "report_id", "position", "source", "tokens", "context"],
        "properties": {
            "id": {"type": "integer"},
            "text": {"type": "string"},
            "report_id": {"type": "integer"},
            "position": {"type": "integer", "minimum": 0},
            "source": NULLABLE_STRING,
            "tokens": {"type": "array", "items": schema_ref("Token")},
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
            "model_version": {
                "type": ["integer", "null"],
                "description": "the model version whose pipeline suggested the span (source model); else null",
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
            "spans": {"type": "array", "items": schema_ref("Span")},
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
                "items": schema_ref("SpanInput"),
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
        "required": ["name", "description", "colour", "key"],
        "properties": {
            "name": {"type": "string"},
            "description": {"type": "string"},
            "colour": NULLABLE_STRING,
            "key": NULLABLE_STRING,
            "kind": {
                "type": "string",
                "description": "region, count, category or plain: how the label's values are normalised",
            },
        },
    },
    "Project": {
        "type": "object",
        "required": ["name", "labels", "outcomes", "guideline_version"],
        "properties": {
            "name": {"type": "string"},
            "labels": {"type": "array", "items": schema_ref("Label")},
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
            schema_ref("Project"),
            {"type": "object", "required": ["progress"], "properties": {"progress": schema_ref("Progress")}},
        ]
    },
    "NextSentence": {
        "type": "object",
        "required": ["sentence", "suggestions", "annotation", "project", "progress", "lease_expires_at"],
        "properties": {
            "sentence": schema_ref("Sentence"),
            "suggestions": {"type": "array", "items": schema_ref("Suggestion")},
            "annotation": {"type": "null"},
            "project": schema_ref("Project"),
            "progress": schema_ref("Progress"),
            "lease_expires_at": {"type": "string", "format": "date-time", "description": "UTC"},
        },
    },
    "SentenceView": {
        "type": "object",
        "required": ["sentence", "suggestions", "annotation", "project"],
        "properties": {
            "sentence": schema_ref("Sentence"),
            "suggestions": {"type": "array", "items": schema_ref("Suggestion")},
            "annotation": {"oneOf": [schema_ref("Annotation"), {"type": "null"}], "description": "the caller's own"},
            "project": schema_ref("Project"),
        },
    },
    "AnnotationEnvelope": {
        "type": "object",
        "required": ["annotation"],
        "properties": {"annotation": schema_ref("Annotation")},
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
