"""span provenance: which suggestion source and model version an accepted span came from

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30

Two nullable columns on ``spans``: ``source`` ("import", "rules" or "model", the
source of the suggestion the annotator accepted) and ``model_version`` (the
``ModelVersion.number`` whose pipeline suggested it, source "model" only). Both
stay NULL on hand-made spans; spans saved before this revision keep NULL (their
source is unknown). Plain ``ADD COLUMN`` on both backends, no table rewrite.
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('spans', sa.Column('source', sa.String(length=32), nullable=True))
    op.add_column('spans', sa.Column('model_version', sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column('spans', 'model_version')
    op.drop_column('spans', 'source')
