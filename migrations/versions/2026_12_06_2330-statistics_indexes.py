"""covering indexes for the statistics at volume

The year's bids by their creation (`bid.created_at`, with the challenge, the status) and the
year's challenges by their publication (`challenge.published_at`, with what the summary and
the reports group and filter by): the statistics read them from the index alone (index-only
scans) instead of every row of both tables (docs/performance.md, "The statistics routes").
PostgreSQL only (INCLUDE); SQLite has no such index and its statistics are small.

Revision ID: 5c2f9e7a1d43
Revises: 7b1e4d2c9a60
Create Date: 2026-12-06 23:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "5c2f9e7a1d43"
down_revision: str | None = "7b1e4d2c9a60"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHALLENGE_PUBLISHED_INCLUDE = [
    "id",
    "created_at",
    "status",
    "deadline",
    "sector",
    "region",
    "budget",
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # Building them reads every row: longer than the service's statement timeout at volume.
    op.execute("SET LOCAL statement_timeout = 0")
    op.create_index(
        "ix_bid_created", "bid", ["created_at"], postgresql_include=["challenge_id", "status"]
    )
    op.create_index(
        "ix_challenge_published",
        "challenge",
        ["published_at"],
        postgresql_include=CHALLENGE_PUBLISHED_INCLUDE,
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_challenge_published", table_name="challenge")
    op.drop_index("ix_bid_created", table_name="bid")
