"""model curve: a model version's learning curve

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30

A nullable JSON column, ``model_versions.curve``: ``{"fractions": [...],
"points": [{fraction, sentences, overall, per_label}, ...]}`` for a run
started with the learning curve, NULL otherwise. Existing versions keep NULL.
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('model_versions', sa.Column('curve', sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column('model_versions', 'curve')
