"""browse indexes: the corpus browser's filters read indexes only

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

The corpus browser (``annotator.services.browse``) walks a project's sentences
in reading order and tests each against its filters. Two covering indexes
answer those tests without reading a table row:

- ``ix_annotations_sentence_status`` (sentence_id, status, user_id): "flagged",
  "annotator" and every "done or flagged" test;
- ``ix_spans_annotation_label`` (annotation_id, label): "label present".

Plain ``CREATE INDEX`` on both backends; nothing else changes.
"""
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_annotations_sentence_status', 'annotations', ['sentence_id', 'status', 'user_id'])
    op.create_index('ix_spans_annotation_label', 'spans', ['annotation_id', 'label'])


def downgrade() -> None:
    op.drop_index('ix_spans_annotation_label', table_name='spans')
    op.drop_index('ix_annotations_sentence_status', table_name='annotations')
