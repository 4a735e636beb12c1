"""sentence queue state: annotation_count, state and the queue indexes

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

The queue and the progress counts read ``sentences.state`` through
``ix_sentences_queue`` instead of counting every sentence's annotations;
``ix_leases_user_expires`` finds one user's leases.
Existing rows are backfilled from their annotations.

On SQLite the columns are added with ``ALTER TABLE ... ADD COLUMN`` (their
CHECK constraints inline), not through batch mode: batch mode copies the
table and drops the old one, and with ``PRAGMA foreign_keys=ON`` that drop
would cascade-delete every annotation, lease and suggestion of the sentences.
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

COUNTED = "annotations.status IN ('done', 'flagged')"
COUNT = f"(SELECT count(*) FROM annotations WHERE annotations.sentence_id = sentences.id AND {COUNTED})"
QUOTA = "((SELECT projects.annotators_per_sentence FROM projects WHERE projects.id = sentences.project_id) + sentences.extra_annotators)"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE sentences ADD COLUMN annotation_count INTEGER DEFAULT '0' NOT NULL "
            "CONSTRAINT ck_sentences_annotation_count CHECK (annotation_count >= 0)"
        )
        op.execute(
            "ALTER TABLE sentences ADD COLUMN state SMALLINT DEFAULT '0' NOT NULL "
            "CONSTRAINT ck_sentences_state CHECK (state IN (0, 1, 2)) "
            "CONSTRAINT ck_sentences_state_count CHECK ((annotation_count = 0) = (state = 0))"
        )
    else:
        op.add_column('sentences', sa.Column('annotation_count', sa.Integer(), server_default='0', nullable=False))
        op.add_column('sentences', sa.Column('state', sa.SmallInteger(), server_default='0', nullable=False))
        op.create_check_constraint(op.f('ck_sentences_annotation_count'), 'sentences', 'annotation_count >= 0')
        op.create_check_constraint(op.f('ck_sentences_state'), 'sentences', 'state IN (0, 1, 2)')
        op.create_check_constraint(op.f('ck_sentences_state_count'), 'sentences', '(annotation_count = 0) = (state = 0)')
    # The same figures as annotator.services.recount.recount, for every sentence at once.
    op.execute(
        f"UPDATE sentences SET annotation_count = {COUNT}, "
        f"state = CASE WHEN {COUNT} = 0 THEN 0 WHEN {COUNT} >= {QUOTA} THEN 2 ELSE 1 END "
        f"WHERE EXISTS (SELECT 1 FROM annotations WHERE annotations.sentence_id = sentences.id AND {COUNTED})"
    )
    op.create_index('ix_sentences_queue', 'sentences', ['project_id', 'state', 'report_id', 'position'], unique=False)
    op.create_index('ix_leases_user_expires', 'leases', ['user_id', 'expires_at'], unique=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite drops a column only by copying the table, and dropping the old copy would
        # cascade-delete the annotations (foreign keys are on): refuse rather than lose data.
        raise NotImplementedError("0002 cannot be downgraded on SQLite; restore the backup taken before the upgrade")
    op.drop_index('ix_leases_user_expires', table_name='leases')
    op.drop_index('ix_sentences_queue', table_name='sentences')
    op.drop_constraint(op.f('ck_sentences_state_count'), 'sentences', type_='check')
    op.drop_constraint(op.f('ck_sentences_state'), 'sentences', type_='check')
    op.drop_constraint(op.f('ck_sentences_annotation_count'), 'sentences', type_='check')
    op.drop_column('sentences', 'state')
    op.drop_column('sentences', 'annotation_count')
