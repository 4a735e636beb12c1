"""report numbers: each report's number within its project, 1, 2, ... in import order

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30

``reports.number`` is what pages call a report ("Report 1" is the project's first report,
whatever its row id). Existing reports are numbered by their id within each project, the
order they were imported in; ``ix_reports_project_number`` keeps numbers unique per project.

The column is added with ``ALTER TABLE ... ADD COLUMN`` and a default of 0 for the rows there,
not through SQLite's batch mode: batch mode copies the table and drops the old one, and with
``PRAGMA foreign_keys=ON`` that drop would cascade-delete every sentence. PostgreSQL then drops
the default; SQLite keeps it (it cannot drop one in place), which no insert relies on: the
import and the model give every report its number.
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('reports', sa.Column('number', sa.Integer(), nullable=False, server_default='0'))
    # UPDATE ... FROM: PostgreSQL, and SQLite from 3.33.
    op.execute(
        "UPDATE reports SET number = numbered.n FROM "
        "(SELECT id, row_number() OVER (PARTITION BY project_id ORDER BY id) AS n FROM reports) AS numbered "
        "WHERE numbered.id = reports.id"
    )
    if op.get_bind().dialect.name != 'sqlite':
        op.alter_column('reports', 'number', server_default=None)
    op.create_index('ix_reports_project_number', 'reports', ['project_id', 'number'], unique=True)


def downgrade() -> None:
    op.drop_index('ix_reports_project_number', table_name='reports')
    # SQLite 3.35+ drops a column in place (no table copy, so no cascading deletes).
    op.drop_column('reports', 'number')
