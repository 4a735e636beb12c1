"""annotator: span annotation of incident reports, agreement and spaCy export.

``create_app`` is imported lazily so that the pure modules
(``annotator.metrics``, ``annotator.corpus``, ``annotator.labels``, ``annotator.export``) load without Flask.
"""

from __future__ import annotations

__all__ = ["create_app"]


def __getattr__(name: str):
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module 'annotator' has no attribute {name!r}")
