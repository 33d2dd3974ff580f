from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, column_now
from app.models.base import enum_column


class NotificationKind(StrEnum):
    """What a notification is about: each is an event named in docs/api.md."""

    challenge_submitted = "challenge_submitted"  # to the bureau: a challenge to review
    challenge_published = "challenge_published"
    challenge_returned = "challenge_returned"
    bid_received = "bid_received"
    bid_shortlisted = "bid_shortlisted"
    bid_rejected = "bid_rejected"
    bid_nominated = "bid_nominated"
    bid_awarded = "bid_awarded"
    review_assigned = "review_assigned"
    objection_filed = "objection_filed"
    objection_resolved = "objection_resolved"
    award_revoked = "award_revoked"
    signature_awaited = "signature_awaited"
    project_started = "project_started"
    milestone_due = "milestone_due"
    milestone_overdue = "milestone_overdue"
    deliverable_submitted = "deliverable_submitted"
    deliverable_accepted = "deliverable_accepted"
    deliverable_rejected = "deliverable_rejected"
    change_requested = "change_requested"
    change_decided = "change_decided"
    report_filed = "report_filed"
    funds_disbursed = "funds_disbursed"
    midterm_recorded = "midterm_recorded"
    acceptance_requested = "acceptance_requested"
    acceptance_decided = "acceptance_decided"
    project_terminated = "project_terminated"


class Notification(Base):
    """A message to one user about one object, written in the transaction of the change."""

    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_user", "user_id", "id"),
        # The unread ones (the list's `unread` filter, the badge's count) without their rows.
        Index(
            "ix_notification_unread",
            "user_id",
            "id",
            sqlite_where=text("read_at IS NULL"),
            postgresql_where=text("read_at IS NULL"),
        ),
        # Reminders written by a job carry a key, so a second run writes nothing twice.
        Index("uq_notification_reminder", "user_id", "reminder_key", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    kind: Mapped[NotificationKind] = mapped_column(enum_column(NotificationKind))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int]
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=column_now)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminder_key: Mapped[str | None] = mapped_column(String(100))
