"""gold note and dropped spans: the reviewer's resolution note, and the spans gold does not keep

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30

``gold_annotations.note`` holds the reviewer's reply to the annotators (shown
in their history); ``gold_annotations.dropped`` lists the annotators' spans
the gold does not keep and the decision behind each ("drop" or "replaced"),
so that no span leaves the way to gold without a trace. Existing gold has
neither (NULL). Plain ``ADD COLUMN`` on both backends: no table copy.
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('gold_annotations', sa.Column('note', sa.Text(), nullable=True))
    op.add_column('gold_annotations', sa.Column('dropped', sa.JSON(), nullable=True))


def downgrade() -> None:
    # SQLite 3.35+ drops a column in place (no table copy, so no cascading deletes).
    op.drop_column('gold_annotations', 'dropped')
    op.drop_column('gold_annotations', 'note')
