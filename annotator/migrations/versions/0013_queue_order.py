"""queue order: a project's queue serves report order or the most uncertain sentences first

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30

``projects.queue_order`` ('report', the default, or 'uncertain'); per sentence the
active model version's ``uncertainty`` and its rank in the project
(``uncertainty_rank``, 0 = most uncertain), both NULL until scored, and the index
``ix_sentences_uncertain`` the "most informative first" queue reads
(``annotator.services.queue``, ``annotator.services.uncertainty``).
"""

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('projects') as batch:
        batch.add_column(sa.Column('queue_order', sa.String(length=16), server_default='report', nullable=False))
        batch.create_check_constraint(op.f('ck_projects_queue_order'), "queue_order IN ('report', 'uncertain')")
    with op.batch_alter_table('sentences') as batch:
        batch.add_column(sa.Column('uncertainty', sa.Float(), nullable=True))
        batch.add_column(sa.Column('uncertainty_rank', sa.Integer(), nullable=True))
    op.create_index(
        'ix_sentences_uncertain',
        'sentences',
        ['project_id', 'state', 'uncertainty_rank', 'report_id', 'position'],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index('ix_sentences_uncertain', table_name='sentences')
    with op.batch_alter_table('sentences') as batch:
        batch.drop_column('uncertainty_rank')
        batch.drop_column('uncertainty')
    with op.batch_alter_table('projects') as batch:
        batch.drop_constraint(op.f('ck_projects_queue_order'), type_='check')
        batch.drop_column('queue_order')
