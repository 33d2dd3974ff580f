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

    @property
    def label(self) -> str:
        """The state's Chinese name, for the messages people read."""
        return PROJECT_STATUS_LABELS.get(self, self.value)


PROJECT_STATUS_LABELS: dict[ProjectStatus, str] = {
    ProjectStatus.in_progress: "实施中",
    ProjectStatus.acceptance_requested: "待验收",
    ProjectStatus.completed: "已验收",
    ProjectStatus.failed: "验收未通过",
    ProjectStatus.terminated: "已终止",
}


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
