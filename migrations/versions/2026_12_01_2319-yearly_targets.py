"""yearly targets

The bureau's targets per year and sector, for the city (region '') or one county.

Revision ID: e37e0a3a67d7
Revises: 3ed0ce63e1ef
Create Date: 2026-12-01 23:19:23.272700
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e37e0a3a67d7"
down_revision: str | None = "3ed0ce63e1ef"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "target",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column(
            "sector",
            sa.Enum(
                "agriculture", "industry", "services", name="sector", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.Column("published", sa.Integer(), nullable=False),
        sa.Column("awarded", sa.Integer(), nullable=False),
        sa.Column("completed", sa.Integer(), nullable=False),
        sa.Column("budget", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_target")),
    )
    with op.batch_alter_table("target", schema=None) as batch_op:
        batch_op.create_index(
            "uq_target_year_sector_region", ["year", "sector", "region"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("target", schema=None) as batch_op:
        batch_op.drop_index("uq_target_year_sector_region")

    op.drop_table("target")
