"""projects carry their challenge's sector and county

The statistics grouped the year's projects by their challenge's sector and county, a join of
projects to all 100k challenges in each of five queries (docs/performance.md). Copied at the
award from the challenge (fixed once it is published) and backfilled here.

Revision ID: 3e8a5c1d7b92
Revises: 9d4b2e6f1a07
Create Date: 2026-12-07 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3e8a5c1d7b92"
down_revision: str | None = "9d4b2e6f1a07"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SECTOR = sa.Enum("agriculture", "industry", "services", name="sector", native_enum=False, length=32)


def upgrade() -> None:
    # NOT NULL with a placeholder default that the backfill replaces, as for the bids
    # (9d4b2e6f1a07): SQLite cannot rebuild `project` while milestones refer to it.
    with op.batch_alter_table("project") as batch_op:
        batch_op.add_column(sa.Column("sector", SECTOR, server_default="", nullable=False))
        batch_op.add_column(
            sa.Column("region", sa.String(length=6), server_default="", nullable=False)
        )
    op.execute(
        "UPDATE project SET sector = challenge.sector, region = challenge.region "
        "FROM challenge WHERE challenge.id = project.challenge_id"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("project", "sector", server_default=None)
        op.alter_column("project", "region", server_default=None)


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN, not a batch: SQLite (3.35+) drops a plain column in place,
    # where a rebuild of `project` would fail on the milestones that refer to it.
    op.drop_column("project", "region")
    op.drop_column("project", "sector")
