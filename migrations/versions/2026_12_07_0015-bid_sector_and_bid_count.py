"""bids carry their challenge's sector and county; challenges count their bids

The bureau's year summary grouped ~240k bids by their challenge's sector and county (a join
of the year's bids to 100k challenges) and counted the bids of 40k challenges one index
lookup each (docs/performance.md). `bid.sector` and `bid.region` are copied from the
challenge when a bid is added (fixed once it is published, and no bid exists before), and
`challenge.bid_count` is raised by one in the bid's transaction: both backfilled here. On
PostgreSQL the covering indexes of the statistics carry the new columns.

Revision ID: 9d4b2e6f1a07
Revises: 5c2f9e7a1d43
Create Date: 2026-12-07 00:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9d4b2e6f1a07"
down_revision: str | None = "5c2f9e7a1d43"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SECTOR = sa.Enum("agriculture", "industry", "services", name="sector", native_enum=False, length=32)
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
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        # The backfill writes every bid: longer than the service's statement timeout at volume.
        op.execute("SET LOCAL statement_timeout = 0")
        # Rebuilt below with the new columns; dropped first so the backfill does not update them.
        op.drop_index("ix_bid_created", table_name="bid")
        op.drop_index("ix_challenge_published", table_name="challenge")
    # NOT NULL from the start, with a placeholder default that the backfill replaces: SQLite
    # can make a column NOT NULL only by rebuilding the table, and rebuilding `bid` fails on
    # the projects that refer to it (foreign keys are on). PostgreSQL drops the default below;
    # SQLite keeps it in its schema, unused (add_bid sets both).
    with op.batch_alter_table("bid") as batch_op:
        batch_op.add_column(sa.Column("sector", SECTOR, server_default="", nullable=False))
        batch_op.add_column(
            sa.Column("region", sa.String(length=6), server_default="", nullable=False)
        )
    with op.batch_alter_table("challenge") as batch_op:
        batch_op.add_column(
            sa.Column("bid_count", sa.Integer(), server_default="0", nullable=False)
        )
    # UPDATE ... FROM: PostgreSQL, and SQLite since 3.33.
    op.execute(
        "UPDATE bid SET sector = challenge.sector, region = challenge.region "
        "FROM challenge WHERE challenge.id = bid.challenge_id"
    )
    op.execute(
        "UPDATE challenge SET bid_count = counted.n "
        "FROM (SELECT challenge_id, count(*) AS n FROM bid GROUP BY challenge_id) AS counted "
        "WHERE counted.challenge_id = challenge.id"
    )
    if postgresql:
        op.alter_column("bid", "sector", server_default=None)
        op.alter_column("bid", "region", server_default=None)
        op.create_index(
            "ix_bid_created",
            "bid",
            ["created_at"],
            postgresql_include=["challenge_id", "status", "sector", "region"],
        )
        op.create_index(
            "ix_challenge_published",
            "challenge",
            ["published_at"],
            postgresql_include=[*CHALLENGE_PUBLISHED_INCLUDE, "bid_count"],
        )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute("SET LOCAL statement_timeout = 0")
        op.drop_index("ix_challenge_published", table_name="challenge")
        op.drop_index("ix_bid_created", table_name="bid")
    # ALTER TABLE ... DROP COLUMN, not a batch: SQLite (3.35+) drops a plain column in place,
    # where a rebuild of `bid` or `challenge` would fail on the rows that refer to them.
    op.drop_column("challenge", "bid_count")
    op.drop_column("bid", "region")
    op.drop_column("bid", "sector")
    if postgresql:
        op.create_index(
            "ix_bid_created", "bid", ["created_at"], postgresql_include=["challenge_id", "status"]
        )
        op.create_index(
            "ix_challenge_published",
            "challenge",
            ["published_at"],
            postgresql_include=CHALLENGE_PUBLISHED_INCLUDE,
        )
