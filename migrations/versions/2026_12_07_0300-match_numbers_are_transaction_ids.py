"""match_document.seq on PostgreSQL: the writing transaction's id, not a counter's value

A commit no longer takes the next value of `match_state.seq` (which locked that row until the
commit); on PostgreSQL each row is numbered with the id of the transaction that wrote it, and
processes follow the rows whose writers had not committed at the snapshot they last read
(app/services/match_sync/). Counter values already stored could lie above the transaction ids
of this cluster (e.g. a database restored from a dump), where every process would read them
again on every catch-up: they become 0, a number every snapshot has seen. SQLite keeps the
counter; nothing changes there.

Revision ID: 8c4f2a9d1e07
Revises: 5d0c3b7e21f4
Create Date: 2026-12-07 03:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "8c4f2a9d1e07"
down_revision: str | None = "5d0c3b7e21f4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE match_document SET seq = 0 WHERE seq <> 0")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # The counter continues above every stored number (transaction ids included).
        op.execute(
            "UPDATE match_state SET seq = GREATEST(seq,"
            " (SELECT COALESCE(MAX(seq), 0) FROM match_document))"
        )
