"""The audit log: one ``AuditEvent`` per change, with who made it and when.

Changes made in the app name the logged-in user. Changes made with the
``annotator`` command have no app user: they name the operating-system
account that ran it (``detail["os_user"]``) and say ``detail["via"] ==
"command line"``.
"""

from __future__ import annotations

import getpass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ..models import AuditEvent, User

COMMAND_LINE = "command line"


def record(
    session: Session,
    user: User | None,
    action: str,
    entity: str,
    entity_id: int | None,
    *,
    at: datetime | None = None,
    **detail: Any,
) -> AuditEvent:
    """Add an event for ``user``'s change to the session (committed with the change itself).

    ``at`` defaults to now; a change stamped with its own time passes that.
    """
    event = AuditEvent(
        user_id=user.id if user is not None else None, action=action, entity=entity, entity_id=entity_id, detail=detail
    )
    if at is not None:
        event.at = at
    session.add(event)
    return event


def event_values(
    user: User | None, action: str, entity: str, entity_id: int | None, at: datetime, detail: dict[str, Any]
) -> dict[str, Any]:
    """The column values of :func:`record`'s event, for a Core ``INSERT`` of it (hot paths that write their
    rows without the ORM: an annotation's save, ``services.annotations``)."""
    return {
        "at": at,
        "user_id": user.id if user is not None else None,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "detail": detail,
    }


def record_command(session: Session, action: str, entity: str, entity_id: int | None, **detail: Any) -> AuditEvent:
    """Add an event for a change made with the ``annotator`` command."""
    return record(session, None, action, entity, entity_id, **detail, via=COMMAND_LINE, os_user=_os_user())


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container's arbitrary user)
        return "unknown"
