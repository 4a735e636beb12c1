"""incidents: an annotation's and a gold's spans grouped into incidents

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30

Nullable JSON columns ``annotations.incidents`` and ``gold_annotations.incidents``:
``[{"spans": [{"start_char", "end_char", "label"}, ...]}, ...]`` (gold incidents also carry
``provenance``), see ``annotator.incidents.links``. Existing rows keep NULL: no incidents.
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('annotations', sa.Column('incidents', sa.JSON(), nullable=True))
    op.add_column('gold_annotations', sa.Column('incidents', sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column('gold_annotations', 'incidents')
    op.drop_column('annotations', 'incidents')
