"""Milestones of a running project, and the change requests that replace their plan."""

from datetime import date, datetime
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field

from app.models import ChangeRequestStatus, MilestoneStatus, Party, ProjectMilestone
from app.schemas.bid import Milestone
from app.schemas.common import Description, Page, ReadModel, Reason


class MilestoneRead(ReadModel):
    id: int
    project_id: int
    position: int
    title: str
    due_date: date
    status: MilestoneStatus = Field(
        description="当前状态：planned、submitted、accepted、rejected；"
        "到期（中国时间）未确认为 overdue（已结束的项目不再显示逾期）"
    )
    deliverable: str | None
    submitted_at: datetime | None
    decided_at: datetime | None
    reason: str | None = Field(description="企业退回成果的理由")
    active: bool

    @classmethod
    def of(cls, milestone: ProjectMilestone, status: MilestoneStatus) -> Self:
        """The milestone as read, with the status derived for its project."""
        return cls.model_validate(milestone).model_copy(update={"status": status})


class MilestonePage(Page[MilestoneRead]):
    """项目的有效里程碑，按计划顺序。"""


class DeliverableBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    deliverable: Description = Field(examples=["中试样品检测报告，纯度 99.996%"])


class ChangeRequestCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    milestones: Annotated[list[Milestone], Field(min_length=1, max_length=50)] = Field(
        description="替换尚未确认的里程碑的新计划；已确认的里程碑保留在前"
    )
    reason: Reason


class ChangeRequestRead(ReadModel):
    id: int
    project_id: int
    proposed_by_id: int
    proposer: Party
    milestones: list[Milestone]
    reason: str
    status: ChangeRequestStatus
    decided_by_id: int | None
    decided_at: datetime | None
    decision_reason: str | None
    created_at: datetime
    updated_at: datetime


class ChangeRequestPage(Page[ChangeRequestRead]):
    """项目的变更申请，新的在前。"""
