"""expert review and promised indicators

Experts (a profile beside their user), their assignments to challenges, the criteria a
challenge's bids are scored on, one review per expert per bid; and the values a bid promises
for its challenge's indicators (bids stored before this promise nothing: `[]`).

Revision ID: 7e3a91c4d2b6
Revises: 5c0d1e2f3a4b
Create Date: 2026-12-01 22:03:49.033966
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7e3a91c4d2b6"
down_revision: str | None = "5c0d1e2f3a4b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "expert_profile",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("affiliation_id", sa.Integer(), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["affiliation_id"],
            ["organization.id"],
            name=op.f("fk_expert_profile_affiliation_id_organization"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_expert_profile_created_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_expert_profile_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_expert_profile")),
    )
    with op.batch_alter_table("expert_profile", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_expert_profile_affiliation_id"), ["affiliation_id"], unique=False
        )

    op.create_table(
        "review_assignment",
        sa.Column("challenge_id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("active", "recused", name="assignmentstatus", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("recusal_reason", sa.Text(), nullable=True),
        sa.Column("assigned_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assigned_by_id"],
            ["user_account.id"],
            name=op.f("fk_review_assignment_assigned_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["challenge_id"],
            ["challenge.id"],
            name=op.f("fk_review_assignment_challenge_id_challenge"),
        ),
        sa.ForeignKeyConstraint(
            ["expert_id"],
            ["user_account.id"],
            name=op.f("fk_review_assignment_expert_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("challenge_id", "expert_id", name=op.f("pk_review_assignment")),
    )
    with op.batch_alter_table("review_assignment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_assignment_expert_id"), ["expert_id"], unique=False
        )

    op.create_table(
        "review_criteria",
        sa.Column("challenge_id", sa.Integer(), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["challenge_id"],
            ["challenge.id"],
            name=op.f("fk_review_criteria_challenge_id_challenge"),
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["user_account.id"],
            name=op.f("fk_review_criteria_updated_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("challenge_id", name=op.f("pk_review_criteria")),
    )
    op.create_table(
        "bid_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bid_id", sa.Integer(), nullable=False),
        sa.Column("challenge_id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("weighted_score", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["bid_id"], ["bid.id"], name=op.f("fk_bid_review_bid_id_bid")),
        sa.ForeignKeyConstraint(
            ["challenge_id"], ["challenge.id"], name=op.f("fk_bid_review_challenge_id_challenge")
        ),
        sa.ForeignKeyConstraint(
            ["expert_id"], ["user_account.id"], name=op.f("fk_bid_review_expert_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bid_review")),
        sa.UniqueConstraint("bid_id", "expert_id", name=op.f("uq_bid_review_bid_id_expert_id")),
    )
    with op.batch_alter_table("bid_review", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bid_review_bid_id"), ["bid_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_bid_review_challenge_id"), ["challenge_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_bid_review_expert_id"), ["expert_id"], unique=False)

    # The server default fills the bids already stored; the application always writes it.
    # A plain ADD COLUMN, not a batch: rebuilding `bid` on SQLite would drop a table that
    # projects and reviews refer to.
    op.add_column(
        "bid", sa.Column("indicators", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
    )


def downgrade() -> None:
    with op.batch_alter_table("bid", schema=None) as batch_op:
        batch_op.drop_column("indicators")

    with op.batch_alter_table("bid_review", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bid_review_expert_id"))
        batch_op.drop_index(batch_op.f("ix_bid_review_challenge_id"))
        batch_op.drop_index(batch_op.f("ix_bid_review_bid_id"))

    op.drop_table("bid_review")
    op.drop_table("review_criteria")
    with op.batch_alter_table("review_assignment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_assignment_expert_id"))

    op.drop_table("review_assignment")
    with op.batch_alter_table("expert_profile", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expert_profile_affiliation_id"))

    op.drop_table("expert_profile")
