"""project settings token: a key for caching a project's gazetteer and guidelines

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

``projects.settings_token`` changes (a new random value) whenever the
project's gazetteer entries or guidelines change; each app process keeps
them under that key instead of reading them on every labelling request.
Existing projects get a random token each.
"""
import uuid

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('projects', sa.Column('settings_token', sa.String(length=32), nullable=True))
    projects = sa.table('projects', sa.column('id', sa.Integer), sa.column('settings_token', sa.String))
    bind = op.get_bind()
    for (project_id,) in bind.execute(sa.select(projects.c.id)).all():
        bind.execute(projects.update().where(projects.c.id == project_id).values(settings_token=uuid.uuid4().hex))


def downgrade() -> None:
    # SQLite 3.35+ drops a column in place (no table copy, so no cascading deletes).
    op.drop_column('projects', 'settings_token')
