"""sentence flagged: a derived flag and its partial index, for the corpus browser

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30

``sentences.flagged``: whether an annotator flagged the sentence, derived from its
annotations and kept by ``annotator.services.recount`` with ``annotation_count`` and
``state``. The partial index ``ix_sentences_flagged`` on ``(project_id, report_id,
position) WHERE flagged`` gives the browser's "flagged" filter its pages in reading
order directly, on both databases; the annotations' partial index of 0012, which
served that filter before, is dropped. Existing rows are backfilled.
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

FLAGGED = sa.text("flagged")
ANNOTATION_FLAGGED = sa.text("status = 'flagged'")


def upgrade() -> None:
    op.add_column('sentences', sa.Column('flagged', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute(
        "UPDATE sentences SET flagged = TRUE WHERE EXISTS (SELECT 1 FROM annotations "
        "WHERE annotations.sentence_id = sentences.id AND annotations.status = 'flagged')"
    )
    op.create_index(
        'ix_sentences_flagged',
        'sentences',
        ['project_id', 'report_id', 'position'],
        sqlite_where=FLAGGED,
        postgresql_where=FLAGGED,
    )
    op.drop_index('ix_annotations_flagged', table_name='annotations')


def downgrade() -> None:
    op.create_index(
        'ix_annotations_flagged',
        'annotations',
        ['sentence_id'],
        sqlite_where=ANNOTATION_FLAGGED,
        postgresql_where=ANNOTATION_FLAGGED,
    )
    op.drop_index('ix_sentences_flagged', table_name='sentences')
    if op.get_bind().dialect.name == "sqlite":
        # SQLite drops a column only by copying the table, and dropping the old copy would
        # cascade-delete the annotations (foreign keys are on): refuse rather than lose data.
        raise NotImplementedError("0014 cannot be downgraded on SQLite; restore the backup taken before the upgrade")
    op.drop_column('sentences', 'flagged')
