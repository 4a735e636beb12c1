"""label kinds stored: every label of every project's scheme names its kind

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30

A label's kind decides its behaviour (annotator.labels.kinds); schemes stored
before labels had kinds list only name, description, colour and key. Here each
such label gets, once, the kind the app gave it until now: that of the default
scheme's label of the same name (REGION region, COUNT count, OUTCOME category),
else text; a kind stored under its earlier name ("plain") gets its current one.
From here on nothing looks a kind up by a label's name. No schema change: the
downgrade leaves the kinds in place (the older code reads them as it reads its own).
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# The default scheme's kinds and the renamed kinds as they were at this revision, frozen here:
# a migration does not follow later changes to the code.
DEFAULT_KINDS = {"REGION": "region", "COUNT": "count", "OUTCOME": "category"}
OLD_KIND_NAMES = {"plain": "text"}


def with_kinds(labels):
    """``labels`` with every label's kind set; None when there is nothing to change."""
    if not isinstance(labels, list):
        return None
    changed = False
    out = []
    for label in labels:
        if isinstance(label, dict):
            kind = label.get("kind")
            if not kind:
                kind = DEFAULT_KINDS.get(str(label.get("name", "")).upper(), "text")
            kind = OLD_KIND_NAMES.get(kind, kind)
            if kind != label.get("kind"):
                label, changed = {**label, "kind": kind}, True
        out.append(label)
    return out if changed else None


def upgrade() -> None:
    projects = sa.table('projects', sa.column('id', sa.Integer), sa.column('labels', sa.JSON))
    connection = op.get_bind()
    for project_id, labels in connection.execute(sa.select(projects.c.id, projects.c.labels)).all():
        new = with_kinds(labels)
        if new is not None:
            connection.execute(projects.update().where(projects.c.id == project_id).values(labels=new))


def downgrade() -> None:
    pass
