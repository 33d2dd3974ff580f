"""Expert review before the award: experts, their assignments to challenges, criteria, reviews."""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Numeric, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime, column_now
from app.models.base import Timestamps, enum_column
from app.models.user import User


class ExpertProfile(Base):
    """What an expert user is besides a user: the affiliation and the fields they review in.

    Every expert's home organisation (`User.organization_id`) is the bureau's, which appoints
    them, so that no "same organisation" check anywhere lets an expert read their affiliation's
    drafts or bids; the affiliation (None for an independent expert) is only kept here, and is
    what the conflict-of-interest rules and the API's `organization_id` use.
    """

    __tablename__ = "expert_profile"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    affiliation_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"), index=True)
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=column_now)

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined", innerjoin=True)


class AssignmentStatus(StrEnum):
    active = "active"
    recused = "recused"


class ReviewAssignment(Timestamps, Base):
    """An expert appointed to review the bids of one challenge (or recused from it)."""

    __tablename__ = "review_assignment"

    # One assignment per expert and challenge; the key is the pair, so a removed assignment
    # leaves no id behind.
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id"), primary_key=True)
    expert_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id"), primary_key=True, index=True
    )
    status: Mapped[AssignmentStatus] = mapped_column(
        enum_column(AssignmentStatus), default=AssignmentStatus.active
    )
    recusal_reason: Mapped[str | None] = mapped_column(Text)
    assigned_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))

    profile: Mapped[ExpertProfile] = relationship(
        primaryjoin="ReviewAssignment.expert_id == ExpertProfile.user_id",
        foreign_keys=[expert_id],
        viewonly=True,
        lazy="joined",
        innerjoin=True,
    )


class ReviewCriteria(Timestamps, Base):
    """The criteria a challenge's bids are scored on, when the bureau set others than the
    defaults: `[{"name": "技术方案", "weight": 40}, ...]`."""

    __tablename__ = "review_criteria"

    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id"), primary_key=True)
    criteria: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    updated_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))


class BidReview(Base):
    """One expert's scores for one bid. Once submitted it is not changed."""

    __tablename__ = "bid_review"
    __table_args__ = (UniqueConstraint("bid_id", "expert_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bid.id"), index=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id"), index=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    # {"技术方案": 85, ...}: one score 0..100 per criterion of the challenge
    scores: Mapped[dict[str, int]] = mapped_column(JSON)
    # sum(score × weight) / sum(weight), with the criteria in force (they cannot change once
    # a review is in)
    weighted_score: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=column_now)
