"""sqlite ids never reused

SQLite gives a new row the largest id plus one, so deleting the newest capability, result or
term and creating another gave the old id again: the audit log and bookmarked links then
named two objects by one id. AUTOINCREMENT makes SQLite remember the largest id ever given,
as PostgreSQL's sequences do. Only SQLite's tables change (rebuilt with their rows).

Revision ID: 5c0d1e2f3a4b
Revises: 01106e599beb
Create Date: 2026-12-01 21:25:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "5c0d1e2f3a4b"
down_revision: str | None = "01106e599beb"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("capability", "result", "match_term")


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass


def upgrade() -> None:
    _rebuild(True)


def downgrade() -> None:
    _rebuild(False)
