"""sentence text search: a trigram index behind the corpus browser's "text contains"

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

"Text contains" cannot use an ordinary index, so a text held by few sentences made
the browser read the whole project. A trigram index answers it from the index:

- SQLite: ``sentences_text``, an FTS5 table with the ``trigram`` tokenizer whose
  content is ``sentences.text`` (external content, kept by three triggers), where
  the SQLite build has FTS5 and the tokenizer (3.34 and later);
- PostgreSQL: a GIN index on ``text`` with ``gin_trgm_ops`` (it serves ``ILIKE``), where the
  ``pg_trgm`` extension can be created (trusted since PostgreSQL 13).

Where neither can be made the browser still works, by a scan
(``annotator.services.browse`` looks for the index and uses what it finds).
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

SQLITE = [
    "CREATE VIRTUAL TABLE sentences_text USING fts5(text, content='sentences', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER sentences_text_insert AFTER INSERT ON sentences BEGIN "
    "INSERT INTO sentences_text(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER sentences_text_delete AFTER DELETE ON sentences BEGIN "
    "INSERT INTO sentences_text(sentences_text, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER sentences_text_update AFTER UPDATE OF text ON sentences BEGIN "
    "INSERT INTO sentences_text(sentences_text, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO sentences_text(rowid, text) VALUES (new.id, new.text); END",
    "INSERT INTO sentences_text(sentences_text) VALUES ('rebuild')",
]


def _sqlite_has_trigram(bind) -> bool:
    try:
        bind.exec_driver_sql("CREATE VIRTUAL TABLE temp.trigram_probe USING fts5(t, tokenize='trigram')")
    except sa.exc.OperationalError:
        return False
    bind.exec_driver_sql("DROP TABLE temp.trigram_probe")
    return True


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        if _sqlite_has_trigram(bind):
            for statement in SQLITE:
                bind.exec_driver_sql(statement)
    elif bind.dialect.name == "postgresql":
        try:
            with bind.begin_nested():
                bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except sa.exc.DBAPIError:
            return  # not allowed here: the browser scans instead
        bind.exec_driver_sql("CREATE INDEX ix_sentences_text_trgm ON sentences USING gin (text gin_trgm_ops)")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in ("sentences_text_insert", "sentences_text_delete", "sentences_text_update"):
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        bind.exec_driver_sql("DROP TABLE IF EXISTS sentences_text")
    elif bind.dialect.name == "postgresql":
        bind.exec_driver_sql("DROP INDEX IF EXISTS ix_sentences_text_trgm")
