"""gold answers: the annotation versions each gold read when it was saved

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30

A sentence with gold went back to the review queue when an annotation was
saved after the gold (its ``updated_at`` later than the gold's), which missed
an annotation saved while the gold was being saved, and one saved by a server
whose clock is behind. ``gold_answers`` holds each annotation's version as the
gold read it; an annotation whose version differs is news
(``services.review.changed_since_gold``).

Existing gold is filled in as the time rule saw it: an annotation created by
the time of its gold's last save was answered, at its present version if it has
not been saved since, else at version 0 (an older one, whose number was not
kept). Annotations created later were not answered. Annotation writes are held
off until the migration commits.
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_FILL = (
    "INSERT INTO gold_answers (gold_id, annotation_id, version) "
    "SELECT g.id, a.id, CASE WHEN a.updated_at <= g.updated_at THEN a.version ELSE 0 END "
    "FROM gold_annotations g JOIN annotations a ON a.sentence_id = g.sentence_id "
    "WHERE a.created_at <= g.updated_at"
)


def upgrade() -> None:
    op.create_table(
        "gold_answers",
        sa.Column("gold_id", sa.Integer(), nullable=False),
        sa.Column("annotation_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["gold_id"], ["gold_annotations.id"], name=op.f("fk_gold_answers_gold_id_gold_annotations"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["annotation_id"],
            ["annotations.id"],
            name=op.f("fk_gold_answers_annotation_id_annotations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("gold_id", "annotation_id", name=op.f("pk_gold_answers")),
    )
    op.create_index("ix_gold_answers_annotation", "gold_answers", ["annotation_id"])
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # No annotation or gold may be saved between the fill's read and the commit.
        bind.exec_driver_sql("LOCK TABLE annotations, gold_annotations IN SHARE ROW EXCLUSIVE MODE")
    op.execute(_FILL)


def downgrade() -> None:
    op.drop_index("ix_gold_answers_annotation", table_name="gold_answers")
    op.drop_table("gold_answers")
