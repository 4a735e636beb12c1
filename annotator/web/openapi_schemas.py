"""The schemas of the OpenAPI document (``components/schemas``) and the helpers that refer to them.

Plain dicts, no Flask; ``web/openapi.py`` builds the document's paths on them.
"""

from __future__ import annotations

from typing import Any

from ..labels.kinds import KINDS
from ..limits import MAX_ANNOTATORS_PER_SENTENCE, MAX_GUIDELINE_CHARS
from ..models import QUEUE_ORDERS


def schema_ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def json_content(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def error_response(description: str) -> dict[str, Any]:
    return json_content(schema_ref("Error"), description)


NULLABLE_STRING = {"type": ["string", "null"]}
LABEL_KINDS = tuple(KINDS)  # the label kinds, from their table
NULLABLE_INT = {"type": ["integer", "null"]}
QUEUE_ORDER = {
    "type": "string",
    "enum": list(QUEUE_ORDERS),
    "description": "report: report order (the default); uncertain: most informative first, the sentences the "
    "active model version is least certain about first, unscored ones after in report order",
}
INCIDENTS_NOTE = "incidents proposed over the suggested spans (nearest partners within the clause)"

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
            "labels": {
                "type": "array",
                "items": {"type": "string"},
                "description": "the project's labels now (retired ones included): a page loaded before a label "
                "was renamed or deleted finds out which of its labels are gone",
            },
        },
    },
    "IncidentsError": {
        "type": "object",
        "required": ["error", "message", "details"],
        "properties": {
            "error": {"const": "invalid_incidents"},
            "message": {"type": "string"},
            "details": {
                "type": "array",
                "items": {"type": "string"},
                "description": "each broken rule, naming the incident (from 1); at most MAX_LISTED_PROBLEMS (default 20)",
            },
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
    "SchemeChangedError": {
        "type": "object",
        "required": ["error", "message"],
        "properties": {"error": {"const": "scheme_changed"}, "message": {"type": "string"}},
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
            "source": {
                "enum": ["import", "rules", "model", None],
                "description": "an accepted suggestion's source; null for a hand-made span, or one saved before sources were kept",
            },
            "model_version": {
                **NULLABLE_INT,
                "description": "the model version that suggested the span (source model); else null",
            },
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
            "source": {
                "enum": ["import", "rules", "model", None],
                "default": None,
                "description": "the source of the accepted suggestion (the Suggestion's source); only with suggested true, else 422",
            },
            "model_version": {
                **NULLABLE_INT,
                "minimum": 1,
                "maximum": 2**31 - 1,
                "default": None,
                "description": "the Suggestion's model_version; only with source model, else 422",
            },
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
            "incidents": {"type": "array", "items": schema_ref("Incident"), "description": "sorted by their spans"},
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
            "incidents": {
                "type": ["array", "null"],
                "items": schema_ref("Incident"),
                "description": "the spans grouped into incidents, each naming spans of this request by their keys; "
                "a broken rule is refused (422, invalid_incidents); null: none; absent: the stored incidents are "
                "kept where their spans still are",
            },
        },
    },
    "SpanKey": {
        "type": "object",
        "required": ["start_char", "end_char", "label"],
        "properties": {"start_char": {"type": "integer"}, "end_char": {"type": "integer"}, "label": {"type": "string"}},
    },
    "Incident": {
        "type": "object",
        "required": ["spans"],
        "description": "what happened: two spans or more, at most one of each role (a count, a category label's "
        "outcome, a region), one of them a count or a category span; a span may be in several incidents",
        "properties": {
            "spans": {"type": "array", "items": schema_ref("SpanKey"), "minItems": 2},
            "provenance": {
                "enum": ["unanimous", "majority", "adjudicated"],
                "description": "gold incidents only",
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
                "items": schema_ref("LabelInput"),
                "minItems": 1,
                "maxItems": 20,
                "description": "the label scheme; left out: REGION, COUNT and OUTCOME",
            },
            "guidelines": {
                "type": "string",
                "maxLength": MAX_GUIDELINE_CHARS,
                "description": "Markdown; left out: the shipped guidelines",
            },
            "queue_order": QUEUE_ORDER,
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
            "queue_order",
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
            "queue_order": QUEUE_ORDER,
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
            "suggested_incidents": {"type": "array", "items": schema_ref("Incident"), "description": INCIDENTS_NOTE},
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
            "suggested_incidents": {"type": "array", "items": schema_ref("Incident"), "description": INCIDENTS_NOTE},
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

# A JSON body with a NUL anywhere, in a value or a key, is refused with 400 (``web.inputs``). The
# request schemas say so, so that a request valid under them is one the API takes.
NO_NUL = "^[^\\u0000]*$"


def _refusing_nul(schema: Any) -> Any:
    """A copy of ``schema`` whose strings and property names (where any may come) match :data:`NO_NUL`."""
    if isinstance(schema, list):
        return [_refusing_nul(item) for item in schema]
    if not isinstance(schema, dict) or "$ref" in schema:
        return schema
    out = dict(schema)
    types = out.get("type")
    types = types if isinstance(types, list) else [types]
    if "string" in types and "pattern" not in out and "enum" not in out:
        out["pattern"] = NO_NUL
    if "object" in types and out.get("additionalProperties") is not False:
        # Keys the API does not read are passed over, whatever they hold: any JSON, but no NUL in it.
        out.setdefault("propertyNames", {"pattern": NO_NUL})
        out.setdefault("additionalProperties", {"type": ["string", "number", "boolean", "null"], "pattern": NO_NUL})
    if "properties" in out:
        out["properties"] = {name: _refusing_nul(value) for name, value in out["properties"].items()}
    for key in ("items", "oneOf", "anyOf"):
        if key in out:
            out[key] = _refusing_nul(out[key])
    return out


for _name in ("AnnotationInput", "SpanInput", "SpanKey", "Incident", "LabelInput", "ProjectInput"):
    SCHEMAS[_name] = _refusing_nul(SCHEMAS[_name])
