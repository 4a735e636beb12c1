"""flagged index: the corpus browser reads the few flagged sentences at once

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30

A partial index on ``annotations (sentence_id) WHERE status = 'flagged'``. On
PostgreSQL the browser's "flagged" filter reads the flagged sentences from it and
hands their ids to the page query, instead of testing sentences in reading order
until a page of flagged ones is found (``annotator.services.browse``).
"""

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

FLAGGED = sa.text("status = 'flagged'")


def upgrade() -> None:
    op.create_index(
        'ix_annotations_flagged', 'annotations', ['sentence_id'], sqlite_where=FLAGGED, postgresql_where=FLAGGED
    )


def downgrade() -> None:
    op.drop_index('ix_annotations_flagged', table_name='annotations')
