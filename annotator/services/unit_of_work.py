"""The unit of work: sessions that keep the derived figures of what they change.

Two figures are derived from other rows and kept by the session itself, so that every service (and every
test that writes rows) sees them right without remembering to call anything:

- ``Sentence`` queue counts (annotations done, leases) are recounted after a flush that changes an
  annotation or a lease (``services.recount.keep_counts`` -> ``services.recount.recount``);
- ``Project.settings_token`` is renewed before a flush that changes a project's gazetteer entries or
  guidelines (``services.projects.keep_settings_token``), so every app server reloads the settings.

The app and the commands make their sessions here; ``annotator.db.make_sessionmaker`` gives plain
sessions and knows nothing of the services.
"""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from .. import db as database
from .projects import keep_settings_token
from .recount import keep_counts

__all__ = ["session_factory"]


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions on ``engine`` that keep the queue counts and settings tokens (see the module docstring)."""
    return keep_settings_token(keep_counts(database.make_sessionmaker(engine)))
