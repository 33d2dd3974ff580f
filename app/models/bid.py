from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base
from app.models.base import Timestamps, enum_column, postgresql_index
from app.models.challenge import Challenge, Sector


class BidStatus(StrEnum):
    submitted = "submitted"
    shortlisted = "shortlisted"
    nominated = "nominated"
    awarded = "awarded"
    withdrawn = "withdrawn"
    rejected = "rejected"

    @property
    def label(self) -> str:
        """The state's Chinese name, for the messages people read."""
        return BID_STATUS_LABELS.get(self, self.value)


BID_STATUS_LABELS: dict[BidStatus, str] = {
    BidStatus.submitted: "已提交",
    BidStatus.shortlisted: "已入围",
    BidStatus.nominated: "已提名",
    BidStatus.awarded: "已授榜",
    BidStatus.withdrawn: "已撤回",
    BidStatus.rejected: "未采纳",
}


LIVE_BID_STATUSES = frozenset(
    {BidStatus.submitted, BidStatus.shortlisted, BidStatus.nominated, BidStatus.awarded}
)

_LIVE = "status IN ('submitted', 'shortlisted', 'nominated', 'awarded')"
_CHOSEN = "status IN ('nominated', 'awarded')"


class Bid(Timestamps, Base):
    """揭榜申报: a university's or institute's offer to solve a challenge."""

    __tablename__ = "bid"
    __table_args__ = (
        # One live bid per organisation per challenge, and one chosen bid per challenge:
        # enforced by the database so that concurrent requests cannot break them.
        Index(
            "uq_bid_live_per_organization",
            "challenge_id",
            "organization_id",
            unique=True,
            sqlite_where=text(_LIVE),
            postgresql_where=text(_LIVE),
        ),
        Index(
            "uq_bid_chosen_per_challenge",
            "challenge_id",
            unique=True,
            sqlite_where=text(_CHOSEN),
            postgresql_where=text(_CHOSEN),
        ),
        # The statistics' year of bids, read from the index alone (docs/performance.md).
        postgresql_index(
            "ix_bid_created",
            "created_at",
            postgresql_include=["challenge_id", "status", "sector", "region"],
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    # The challenge's sector and county, copied when the bid is added (services.bids.add_bid):
    # they are fixed once a challenge is published (only drafts and returned challenges are
    # edited), and no bid exists before that. The statistics group bids by them without
    # joining the challenges.
    sector: Mapped[Sector] = mapped_column(enum_column(Sector))
    region: Mapped[str] = mapped_column(String(6))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    approach: Mapped[str] = mapped_column(Text)
    team: Mapped[str] = mapped_column(Text)
    budget: Mapped[Decimal] = mapped_column(Numeric(14, 2))  # 万元
    duration_months: Mapped[int]
    # [{"title": "...", "due_date": "2027-06-30"}]
    milestones: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # [{"name": "纯度", "promised": "≥99.995"}]: a value for each of the challenge's indicators
    indicators: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    status: Mapped[BidStatus] = mapped_column(enum_column(BidStatus), default=BidStatus.submitted)
    status_reason: Mapped[str | None] = mapped_column(Text)
    # The status an award's rejection replaced, so that a revoked award can give it back.
    status_before_award: Mapped[BidStatus | None] = mapped_column(enum_column(BidStatus))

    challenge: Mapped[Challenge] = relationship(lazy="raise")
