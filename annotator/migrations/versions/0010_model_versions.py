"""model versions: each training run of a project's pipeline, and the active one

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30

A new table, ``model_versions``: status, task, policy, the export's content
hash, the config trained with, scores per label, progress, timings, the run's
folder, who started it and why it failed. Two partial unique indexes keep one
queued or running run per project and one active version per project.
Existing data is untouched: a project's ``model_path`` still suggests spans
while the project has no active version.
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'model_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('task', sa.String(length=16), nullable=False),
        sa.Column('policy', sa.String(length=120), nullable=False),
        sa.Column('settings', sa.JSON(), nullable=False),
        sa.Column('content_sha256', sa.String(length=64), nullable=True),
        sa.Column('config', sa.Text(), nullable=True),
        sa.Column('export_counts', sa.JSON(), nullable=True),
        sa.Column('scores', sa.JSON(), nullable=True),
        sa.Column('progress', sa.JSON(), nullable=False),
        sa.Column('pipeline_dir', sa.String(length=1024), nullable=False),
        sa.Column('pid', sa.Integer(), nullable=True),
        sa.Column('host', sa.String(length=255), nullable=True),
        sa.Column('started_by', sa.Integer(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=True),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.Column('heartbeat_at', sa.DateTime(), nullable=True),
        sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed', 'cancelled')", name=op.f('ck_model_versions_status')),
        sa.CheckConstraint("task IN ('ner', 'spancat')", name=op.f('ck_model_versions_task')),
        sa.CheckConstraint('number >= 1', name=op.f('ck_model_versions_number')),
        sa.CheckConstraint("NOT active OR status = 'done'", name=op.f('ck_model_versions_active_done')),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_model_versions_project_id_projects'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['started_by'], ['users.id'], name=op.f('fk_model_versions_started_by_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_model_versions')),
        sa.UniqueConstraint('project_id', 'number', name=op.f('uq_model_versions_project_id_number')),
    )
    op.create_index(
        'uq_model_versions_one_run', 'model_versions', ['project_id'], unique=True,
        sqlite_where=sa.text("status IN ('queued', 'running')"),
        postgresql_where=sa.text("status IN ('queued', 'running')"),
    )
    op.create_index(
        'uq_model_versions_one_active', 'model_versions', ['project_id'], unique=True,
        sqlite_where=sa.text('active'), postgresql_where=sa.text('active'),
    )


def downgrade() -> None:
    op.drop_index('uq_model_versions_one_active', table_name='model_versions')
    op.drop_index('uq_model_versions_one_run', table_name='model_versions')
    op.drop_table('model_versions')
