from decimal import Decimal
from enum import StrEnum

from sqlalchemy import ForeignKey, Numeric, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.models.base import Timestamps, enum_column


class ProjectStatus(StrEnum):
    in_progress = "in_progress"
    acceptance_requested = "acceptance_requested"
    completed = "completed"
    failed = "failed"
    terminated = "terminated"


class Project(Timestamps, Base):
    """The awarded work, tracked to acceptance. Exactly one per challenge (unique)."""

    __tablename__ = "project"

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id"), unique=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bid.id"), unique=True)
    # The two parties, copied from the challenge and the bid for cheap permission checks.
    owner_organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    performer_organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id"), index=True
    )
    budget: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    status: Mapped[ProjectStatus] = mapped_column(
        enum_column(ProjectStatus), default=ProjectStatus.in_progress
    )
    status_reason: Mapped[str | None] = mapped_column(Text)
