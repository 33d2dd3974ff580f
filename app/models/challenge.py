from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ColumnElement, ForeignKey, Index, Numeric, String, Text, and_, or_
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from app import db
from app.db import Base, UTCDateTime
from app.models.base import Timestamps, enum_column, postgresql_index, search_grams_index
from app.models.organization import Organization


class Sector(StrEnum):
    agriculture = "agriculture"
    industry = "industry"
    services = "services"


class ChallengeStatus(StrEnum):
    draft = "draft"
    pending_review = "pending_review"
    returned = "returned"
    published = "published"
    closed = "closed"
    awarded = "awarded"
    withdrawn = "withdrawn"
    cancelled = "cancelled"

    @property
    def label(self) -> str:
        """The state's Chinese name, for the messages people read."""
        return CHALLENGE_STATUS_LABELS.get(self, self.value)


CHALLENGE_STATUS_LABELS: dict[ChallengeStatus, str] = {
    ChallengeStatus.draft: "草稿",
    ChallengeStatus.pending_review: "待审核",
    ChallengeStatus.returned: "已退回",
    ChallengeStatus.published: "已发布",
    ChallengeStatus.closed: "已截止",
    ChallengeStatus.awarded: "已授榜",
    ChallengeStatus.withdrawn: "已撤回",
    ChallengeStatus.cancelled: "已取消",
}


# What the public may read: published and everything a published challenge becomes openly.
PUBLIC_CHALLENGE_STATUSES = frozenset(
    {ChallengeStatus.published, ChallengeStatus.closed, ChallengeStatus.awarded}
)
# Why a challenge closed by itself: its status_reason and the reason of its audit event.
DEADLINE_PASSED = "揭榜截止时间已过，自动截止"


class Challenge(Timestamps, Base):
    """榜单: an enterprise's technology bottleneck, offered for universities to take on."""

    __tablename__ = "challenge"
    __table_args__ = (
        Index("ix_challenge_status_deadline", "status", "deadline"),
        # The list's order with what its filters read: counts and deep offsets walk the index
        # alone (an index-only scan), never the rows.
        postgresql_index(
            "ix_challenge_list",
            "id",
            postgresql_include=["status", "organization_id", "deadline", "sector", "region"],
        ),
        search_grams_index("challenge"),
        # The statistics' year of challenges (published in it, or never published), read from
        # the index alone: what the summary and the reports group, filter and join by.
        postgresql_index(
            "ix_challenge_published",
            "published_at",
            postgresql_include=[
                "id",
                "created_at",
                "status",
                "deadline",
                "sector",
                "region",
                "budget",
                "bid_count",
            ],
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    # [{"name": "纯度", "target": "≥99.99", "unit": "%"}]
    indicators: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    expected_outcome: Mapped[str] = mapped_column(Text, default="")
    sector: Mapped[Sector] = mapped_column(enum_column(Sector), index=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    budget: Mapped[Decimal] = mapped_column(Numeric(14, 2))  # 万元
    deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    region: Mapped[str] = mapped_column(String(6), index=True)
    contact: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[ChallengeStatus] = mapped_column(
        enum_column(ChallengeStatus), default=ChallengeStatus.draft
    )
    status_reason: Mapped[str | None] = mapped_column(Text)  # why it was returned or cancelled
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # How many bids it has received, whatever their status: raised by one in the transaction
    # that adds a bid (services.bids.add_bid), under the challenge's row lock that bidding
    # takes anyway. Bids are never deleted. The statistics read it instead of counting.
    bid_count: Mapped[int] = mapped_column(default=0, server_default="0")

    organization: Mapped[Organization] = relationship(lazy="raise")
    # The live (not revoked) project of an awarded challenge, so anyone can reach its public
    # notice: loaded in the same SELECT by the reads that show it (services.challenges), None
    # where a statement does not ask for it.
    project_id: Mapped[int | None] = query_expression()

    # A published challenge whose deadline has passed IS closed, whether or not a write has
    # stored that yet: reads derive it (and write nothing); writes that lock the challenge and
    # `python -m app.jobs close-expired` store it. The clock is app.db.utcnow, looked up at
    # each call so that tests can move it.

    @property
    def past_deadline(self) -> bool:
        """Whether bidding time is over, by the clock."""
        return self.deadline <= db.utcnow()

    @property
    def current_status(self) -> ChallengeStatus:
        """The status as of now: published past the deadline reads as closed."""
        if self.status is ChallengeStatus.published and self.past_deadline:
            return ChallengeStatus.closed
        return self.status

    @property
    def current_status_reason(self) -> str | None:
        """The reason that goes with `current_status`."""
        if self.current_status is not self.status:
            return DEADLINE_PASSED
        return self.status_reason

    @classmethod
    def current_status_is(cls, status: ChallengeStatus) -> ColumnElement[bool]:
        """SQL for `current_status == status`, written so the (status, deadline) index serves."""
        now = db.utcnow()
        published = cls.status == ChallengeStatus.published
        if status is ChallengeStatus.published:
            return and_(published, cls.deadline > now)
        if status is ChallengeStatus.closed:
            return or_(cls.status == status, and_(published, cls.deadline <= now))
        return cls.status == status
