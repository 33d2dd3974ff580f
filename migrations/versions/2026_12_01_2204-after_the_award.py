"""after the award

The project's life after the award: public notice and objections, the three signatures of
the task agreement, milestones and change requests, progress reports, disbursements (kept
within the government's share by a CHECK), the mid-term check and acceptance; notifications;
the misconduct ban on organisations; the status a bid had before an award rejected it.
A revoked project stays as a record, so a challenge has one project that is not revoked
(a partial unique index) instead of one project.

Revision ID: 3ed0ce63e1ef
Revises: 7e3a91c4d2b6
Create Date: 2026-12-01 22:04:11.661396
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3ed0ce63e1ef"
down_revision: str | None = "7e3a91c4d2b6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "challenge_submitted",
                "challenge_published",
                "challenge_returned",
                "bid_received",
                "bid_shortlisted",
                "bid_rejected",
                "bid_nominated",
                "bid_awarded",
                "review_assigned",
                "objection_filed",
                "objection_resolved",
                "award_revoked",
                "signature_awaited",
                "project_started",
                "milestone_due",
                "milestone_overdue",
                "deliverable_submitted",
                "deliverable_accepted",
                "deliverable_rejected",
                "change_requested",
                "change_decided",
                "report_filed",
                "funds_disbursed",
                "midterm_recorded",
                "acceptance_requested",
                "acceptance_decided",
                "project_terminated",
                name="notificationkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("object_type", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminder_key", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_notification_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index("ix_notification_user", ["user_id", "id"], unique=False)
        batch_op.create_index("uq_notification_reminder", ["user_id", "reminder_key"], unique=True)

    op.create_table(
        "change_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("proposed_by_id", sa.Integer(), nullable=False),
        sa.Column(
            "proposer",
            sa.Enum(
                "enterprise", "performer", "bureau", name="party", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("milestones", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "accepted",
                "declined",
                name="changerequeststatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["user_account.id"],
            name=op.f("fk_change_request_decided_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_change_request_project_id_project")
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by_id"],
            ["user_account.id"],
            name=op.f("fk_change_request_proposed_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_request")),
    )
    with op.batch_alter_table("change_request", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_change_request_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "objection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("filed_by_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "upheld",
                "dismissed",
                name="objectionstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["filed_by_id"], ["user_account.id"], name=op.f("fk_objection_filed_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_objection_project_id_project")
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_id"],
            ["user_account.id"],
            name=op.f("fk_objection_resolved_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_objection")),
    )
    with op.batch_alter_table("objection", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_objection_filed_by_id"), ["filed_by_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_objection_project_id"), ["project_id"], unique=False)

    op.create_table(
        "progress_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("spent", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_progress_report_created_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_progress_report_project_id_project")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_progress_report")),
    )
    with op.batch_alter_table("progress_report", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_progress_report_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "project_milestone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "planned",
                "submitted",
                "accepted",
                "rejected",
                "overdue",
                name="milestonestatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("deliverable", sa.Text(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_project_milestone_project_id_project")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_milestone")),
    )
    with op.batch_alter_table("project_milestone", schema=None) as batch_op:
        batch_op.create_index("ix_project_milestone_due", ["due_date"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_project_milestone_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "project_signature",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column(
            "party",
            sa.Enum(
                "enterprise", "performer", "bureau", name="party", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_project_signature_project_id_project")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_project_signature_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_signature")),
        sa.UniqueConstraint(
            "project_id", "party", name=op.f("uq_project_signature_project_id_party")
        ),
    )
    with op.batch_alter_table("project_signature", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_project_signature_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "disbursement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("milestone_id", sa.Integer(), nullable=True),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_disbursement_positive")),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_disbursement_created_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["milestone_id"],
            ["project_milestone.id"],
            name=op.f("fk_disbursement_milestone_id_project_milestone"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_disbursement_project_id_project")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disbursement")),
    )
    with op.batch_alter_table("disbursement", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_disbursement_project_id"), ["project_id"], unique=False
        )

    with op.batch_alter_table("bid", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "status_before_award",
                sa.Enum(
                    "submitted",
                    "shortlisted",
                    "nominated",
                    "awarded",
                    "withdrawn",
                    "rejected",
                    name="bidstatus",
                    native_enum=False,
                    length=32,
                ),
                nullable=True,
            )
        )

    with op.batch_alter_table("organization", schema=None) as batch_op:
        batch_op.add_column(sa.Column("banned_until", sa.DateTime(timezone=True), nullable=True))

    # Existing projects were all started before there was a notice period: their notice ended
    # when they were created, they have no government share yet and nothing disbursed.
    zero = sa.text("0")
    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("title", sa.String(length=200), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column(
                "government_funding",
                sa.Numeric(precision=14, scale=2),
                nullable=False,
                server_default=zero,
            )
        )
        batch_op.add_column(
            sa.Column(
                "disbursed", sa.Numeric(precision=14, scale=2), nullable=False, server_default=zero
            )
        )
        batch_op.add_column(
            sa.Column("publicity_ends_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("open_objections", sa.Integer(), nullable=False, server_default=zero)
        )
        batch_op.add_column(sa.Column("indicators", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("ip_ownership", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("midterm_outcome", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("midterm_comment", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("midterm_rectify_by", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("midterm_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("acceptance_requests", sa.Integer(), nullable=False, server_default=zero)
        )
        batch_op.add_column(
            sa.Column("acceptance_requested_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("rectify_by", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("acceptance_comment", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "failure_kind",
                sa.Enum(
                    "tolerated", "misconduct", name="failurekind", native_enum=False, length=32
                ),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE project SET publicity_ends_at = created_at, started_at = created_at,"
        " title = (SELECT title FROM challenge WHERE challenge.id = project.challenge_id)"
    )
    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.alter_column(
            "publicity_ends_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )
        for column in (
            "title",
            "government_funding",
            "disbursed",
            "open_objections",
            "indicators",
            "ip_ownership",
            "acceptance_requests",
        ):
            batch_op.alter_column(column, server_default=None)
        batch_op.drop_constraint(batch_op.f("uq_project_bid_id"), type_="unique")
        batch_op.drop_constraint(batch_op.f("uq_project_challenge_id"), type_="unique")
        batch_op.create_index(batch_op.f("ix_project_bid_id"), ["bid_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_project_challenge_id"), ["challenge_id"], unique=False)
        batch_op.create_index(
            "uq_project_live_per_challenge",
            ["challenge_id"],
            unique=True,
            sqlite_where=sa.text("status <> 'revoked'"),
            postgresql_where=sa.text("status <> 'revoked'"),
        )
        batch_op.create_check_constraint(
            "government_share", "government_funding >= 0 AND government_funding <= budget"
        )
        batch_op.create_check_constraint(
            "within_government_share", "disbursed >= 0 AND disbursed <= government_funding"
        )
        batch_op.create_check_constraint("open_objections_not_negative", "open_objections >= 0")


def downgrade() -> None:
    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("ck_project_open_objections_not_negative"), type_="check"
        )
        batch_op.drop_constraint(batch_op.f("ck_project_within_government_share"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_project_government_share"), type_="check")
        batch_op.drop_index(
            "uq_project_live_per_challenge",
            sqlite_where=sa.text("status <> 'revoked'"),
            postgresql_where=sa.text("status <> 'revoked'"),
        )
        batch_op.drop_index(batch_op.f("ix_project_challenge_id"))
        batch_op.drop_index(batch_op.f("ix_project_bid_id"))
        batch_op.create_unique_constraint(batch_op.f("uq_project_challenge_id"), ["challenge_id"])
        batch_op.create_unique_constraint(batch_op.f("uq_project_bid_id"), ["bid_id"])
        batch_op.drop_column("ended_at")
        batch_op.drop_column("failure_kind")
        batch_op.drop_column("acceptance_comment")
        batch_op.drop_column("rectify_by")
        batch_op.drop_column("acceptance_requested_at")
        batch_op.drop_column("acceptance_requests")
        batch_op.drop_column("midterm_at")
        batch_op.drop_column("midterm_rectify_by")
        batch_op.drop_column("midterm_comment")
        batch_op.drop_column("midterm_outcome")
        batch_op.drop_column("started_at")
        batch_op.drop_column("ip_ownership")
        batch_op.drop_column("indicators")
        batch_op.drop_column("open_objections")
        batch_op.drop_column("publicity_ends_at")
        batch_op.drop_column("disbursed")
        batch_op.drop_column("government_funding")
        batch_op.drop_column("title")

    with op.batch_alter_table("organization", schema=None) as batch_op:
        batch_op.drop_column("banned_until")

    with op.batch_alter_table("bid", schema=None) as batch_op:
        batch_op.drop_column("status_before_award")

    with op.batch_alter_table("disbursement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_disbursement_project_id"))

    op.drop_table("disbursement")
    with op.batch_alter_table("project_signature", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_signature_project_id"))

    op.drop_table("project_signature")
    with op.batch_alter_table("project_milestone", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_milestone_project_id"))
        batch_op.drop_index("ix_project_milestone_due")

    op.drop_table("project_milestone")
    with op.batch_alter_table("progress_report", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_progress_report_project_id"))

    op.drop_table("progress_report")
    with op.batch_alter_table("objection", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_objection_project_id"))
        batch_op.drop_index(batch_op.f("ix_objection_filed_by_id"))

    op.drop_table("objection")
    with op.batch_alter_table("change_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_change_request_project_id"))

    op.drop_table("change_request")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index("uq_notification_reminder")
        batch_op.drop_index("ix_notification_user")

    op.drop_table("notification")
