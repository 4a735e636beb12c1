"""annotation tallies: each user's annotations per project and status, kept by triggers

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30

The progress bar of every labelling request showed the user's own counts by
counting their annotations in the project, a query whose time grows with how
many they have made (about 7 ms on SQLite and 12 ms on PostgreSQL at 10,000,
more than the rest of the request). ``annotation_tallies`` holds those counts
(project, user, status, n), and triggers on ``annotations`` keep it, so that
every way of writing annotations keeps it right:

- an inserted annotation adds one to its (project, user, status), a deleted
  one takes one away, an update that changes the status, user or sentence moves
  it;
- a deleted sentence deletes its annotations first (a trigger before the
  delete), while the sentence still names their project: the cascade that
  follows finds none left. A project's or a user's deletion cascades to their
  tallies.

The table is filled from the annotations that exist, with writes to them held
off until the migration commits. On PostgreSQL an update locks its two tally
rows in one order (project, user, status), so that two opposite status changes
of one user's annotations at once cannot deadlock.
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_PROJECT_OF = "(SELECT project_id FROM sentences WHERE id = {row}.sentence_id)"
_ADD = (
    "INSERT INTO annotation_tallies (project_id, user_id, status, n) "
    "SELECT project_id, {row}.user_id, {row}.status, 1 FROM sentences WHERE id = {row}.sentence_id "
    "ON CONFLICT (project_id, user_id, status) DO UPDATE SET n = annotation_tallies.n + 1"
)
_TAKE = (
    "UPDATE annotation_tallies SET n = n - 1 WHERE project_id = " + _PROJECT_OF + " "
    "AND user_id = {row}.user_id AND status = {row}.status"
)
_MOVED = "old.status <> new.status OR old.user_id <> new.user_id OR old.sentence_id <> new.sentence_id"
_FILL = (
    "INSERT INTO annotation_tallies (project_id, user_id, status, n) "
    "SELECT s.project_id, a.user_id, a.status, count(*) FROM annotations a "
    "JOIN sentences s ON s.id = a.sentence_id GROUP BY s.project_id, a.user_id, a.status"
)

SQLITE = [
    "CREATE TRIGGER annotation_tallies_insert AFTER INSERT ON annotations BEGIN " + _ADD.format(row="new") + "; END",
    "CREATE TRIGGER annotation_tallies_delete AFTER DELETE ON annotations BEGIN " + _TAKE.format(row="old") + "; END",
    "CREATE TRIGGER annotation_tallies_update AFTER UPDATE OF status, user_id, sentence_id ON annotations "
    f"WHEN {_MOVED} BEGIN " + _TAKE.format(row="old") + "; " + _ADD.format(row="new") + "; END",
    "CREATE TRIGGER annotation_tallies_sentence_delete BEFORE DELETE ON sentences BEGIN "
    "DELETE FROM annotations WHERE sentence_id = old.id; END",
]

# One function for the three changes. An update moves one annotation between two tally rows; it
# locks them in one order, (project, user, status), so that two opposite moves of one user's
# annotations at the same moment (done to flagged, flagged to done) never wait on each other.
POSTGRESQL = [
    "CREATE FUNCTION annotation_tallies_keep() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "DECLARE old_project integer; new_project integer; up boolean := false; BEGIN "
    "IF TG_OP IN ('DELETE', 'UPDATE') THEN "
    "SELECT project_id INTO old_project FROM sentences WHERE id = OLD.sentence_id; END IF; "
    "IF TG_OP IN ('INSERT', 'UPDATE') THEN "
    "SELECT project_id INTO new_project FROM sentences WHERE id = NEW.sentence_id; END IF; "
    "IF TG_OP = 'UPDATE' THEN "
    "up := coalesce((old_project, OLD.user_id, OLD.status) < (new_project, NEW.user_id, NEW.status), false); END IF; "
    "IF TG_OP = 'DELETE' OR up THEN "
    "UPDATE annotation_tallies SET n = n - 1 "
    "WHERE project_id = old_project AND user_id = OLD.user_id AND status = OLD.status; END IF; "
    "IF TG_OP IN ('INSERT', 'UPDATE') AND new_project IS NOT NULL THEN "
    "INSERT INTO annotation_tallies (project_id, user_id, status, n) VALUES (new_project, NEW.user_id, NEW.status, 1) "
    "ON CONFLICT (project_id, user_id, status) DO UPDATE SET n = annotation_tallies.n + 1; END IF; "
    "IF TG_OP = 'UPDATE' AND NOT up THEN "
    "UPDATE annotation_tallies SET n = n - 1 "
    "WHERE project_id = old_project AND user_id = OLD.user_id AND status = OLD.status; END IF; "
    "RETURN NULL; END $$",
    "CREATE TRIGGER annotation_tallies_change AFTER INSERT OR DELETE ON annotations "
    "FOR EACH ROW EXECUTE FUNCTION annotation_tallies_keep()",
    "CREATE TRIGGER annotation_tallies_update AFTER UPDATE OF status, user_id, sentence_id ON annotations "
    f"FOR EACH ROW WHEN ({_MOVED}) EXECUTE FUNCTION annotation_tallies_keep()",
    "CREATE FUNCTION annotation_tallies_sentence_delete() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "DELETE FROM annotations WHERE sentence_id = OLD.id; RETURN OLD; END $$",
    "CREATE TRIGGER annotation_tallies_sentence_delete BEFORE DELETE ON sentences "
    "FOR EACH ROW EXECUTE FUNCTION annotation_tallies_sentence_delete()",
]


def upgrade() -> None:
    op.create_table(
        "annotation_tallies",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_annotation_tallies_project_id_projects"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_annotation_tallies_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("project_id", "user_id", "status", name=op.f("pk_annotation_tallies")),
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # No annotation may be written between the fill and the triggers (nor be in flight when the
        # fill reads): writers wait until the migration commits. SQLite's write lock does the same.
        bind.exec_driver_sql("LOCK TABLE annotations IN SHARE ROW EXCLUSIVE MODE")
    op.execute(_FILL)
    for statement in SQLITE if bind.dialect.name == "sqlite" else POSTGRESQL:
        bind.exec_driver_sql(statement)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in ("insert", "delete", "update", "sentence_delete"):
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS annotation_tallies_{name}")
    else:
        bind.exec_driver_sql("DROP TRIGGER IF EXISTS annotation_tallies_sentence_delete ON sentences")
        bind.exec_driver_sql("DROP TRIGGER IF EXISTS annotation_tallies_update ON annotations")
        bind.exec_driver_sql("DROP TRIGGER IF EXISTS annotation_tallies_change ON annotations")
        bind.exec_driver_sql("DROP FUNCTION IF EXISTS annotation_tallies_sentence_delete()")
        bind.exec_driver_sql("DROP FUNCTION IF EXISTS annotation_tallies_keep()")
    op.drop_table("annotation_tallies")
