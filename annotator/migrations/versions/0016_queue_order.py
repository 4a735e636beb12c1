"""queue order: a project's queue serves report order or the most uncertain sentences first

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30

``projects.queue_order`` ('report', the default, or 'uncertain'); per sentence the
active model version's ``uncertainty`` and its rank in the project
(``uncertainty_rank``, 0 = most uncertain), both NULL until scored, and the index
``ix_sentences_uncertain`` the "most informative first" queue reads
(``annotator.services.queue``, ``annotator.services.uncertainty``).
"""

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # ALTER TABLE ... ADD COLUMN with the CHECK inline, not batch mode: batch mode copies the table and
        # drops the old one, and with PRAGMA foreign_keys=ON dropping projects would cascade-delete its rows.
        op.execute(
            "ALTER TABLE projects ADD COLUMN queue_order VARCHAR(16) DEFAULT 'report' NOT NULL "
            "CONSTRAINT ck_projects_queue_order CHECK (queue_order IN ('report', 'uncertain'))"
        )
    else:
        op.add_column('projects', sa.Column('queue_order', sa.String(length=16), server_default='report', nullable=False))
        op.create_check_constraint(op.f('ck_projects_queue_order'), 'projects', "queue_order IN ('report', 'uncertain')")
    op.add_column('sentences', sa.Column('uncertainty', sa.Float(), nullable=True))
    op.add_column('sentences', sa.Column('uncertainty_rank', sa.Integer(), nullable=True))
    op.create_index(
        'ix_sentences_uncertain',
        'sentences',
        ['project_id', 'state', 'uncertainty_rank', 'report_id', 'position'],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index('ix_sentences_uncertain', table_name='sentences')
    if op.get_bind().dialect.name == "sqlite":
        # SQLite drops a column only by copying the table, and dropping the old copy would
        # cascade-delete the project's rows (foreign keys are on): refuse rather than lose data.
        raise NotImplementedError("0016 cannot be downgraded on SQLite; restore the backup taken before the upgrade")
    op.drop_column('sentences', 'uncertainty_rank')
    op.drop_column('sentences', 'uncertainty')
    op.drop_constraint(op.f('ck_projects_queue_order'), 'projects', type_='check')
    op.drop_column('projects', 'queue_order')
