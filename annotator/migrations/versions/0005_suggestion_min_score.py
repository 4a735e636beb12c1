"""suggestion min score: a project's confidence threshold for model suggestions

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30

``projects.suggestion_min_score``: model suggestions whose confidence is below
it are not offered (0, the default, offers every one; suggestions without a
confidence, from rules or an import, are always offered). Plain ``ADD COLUMN``
with a server default on both backends: existing projects get 0.
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('projects', sa.Column('suggestion_min_score', sa.Float(), nullable=False, server_default='0'))


def downgrade() -> None:
    op.drop_column('projects', 'suggestion_min_score')
