from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime
from app.models.base import Timestamps, enum_column
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


class Challenge(Timestamps, Base):
    """榜单: an enterprise's technology bottleneck, offered for universities to take on."""

    __tablename__ = "challenge"
    __table_args__ = (Index("ix_challenge_status_deadline", "status", "deadline"),)

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

    organization: Mapped[Organization] = relationship(lazy="raise")
