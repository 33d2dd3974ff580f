from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.models import FailureKind, MilestoneStatus, ObjectionStatus, Party, ProjectStatus
from app.schemas.common import Money, Page, ReadModel, Reason

DEFAULT_IP_OWNERSHIP = "知识产权归属由发榜单位与揭榜单位协商确定，并在任务书中载明"


class AwardBody(BaseModel):
    """What the bureau fixes at the award: the government's share of the budget, IP ownership."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"government_funding": "30.00", "ip_ownership": "成果归双方共有"}]
        },
    )

    government_funding: Money = Field(
        default=Decimal(0), description="政府资助（万元），不超过申报预算；其余由企业出资"
    )
    ip_ownership: Reason = Field(default=DEFAULT_IP_OWNERSHIP, description="知识产权归属")


class ProjectIndicator(BaseModel):
    """One indicator's chain: the challenge's target, the bid's promise, acceptance's measure."""

    name: str
    target: str
    unit: str = ""
    promised: str | None = None
    measured: str | None = None
    passed: bool | None = None
    waiver: str | None = None  # the written reason an indicator was waived at acceptance

    @field_validator("target", "promised", "measured", mode="before")
    @classmethod
    def _numbers_as_text(cls, value: object) -> object:
        # Values are text (≥99.99); a number stored by an older writer reads as its text.
        if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            return str(value)
        return value


class ProjectMilestoneRead(ReadModel):
    id: int
    position: int
    title: str
    due_date: date
    # As of now: past its date and not accepted reads as overdue (see the model).
    status: MilestoneStatus = Field(validation_alias="current_status")
    deliverable: str | None
    submitted_at: datetime | None
    decided_at: datetime | None
    reason: str | None


class ProjectFunding(BaseModel):
    budget: Money
    enterprise: Money
    government: Money
    disbursed: Money


class SignatureRead(ReadModel):
    party: Party
    user_id: int
    signed_at: datetime


class ProjectRead(ReadModel):
    id: int
    challenge_id: int
    bid_id: int
    owner_organization_id: int
    performer_organization_id: int
    title: str
    budget: Money
    # As of now: a notice period that ended with no objection open reads as signing.
    status: ProjectStatus = Field(validation_alias="current_status")
    status_reason: str | None
    publicity_ends_at: datetime
    open_objections: int
    indicators: list[ProjectIndicator]
    milestones: list[ProjectMilestoneRead]
    funding: ProjectFunding
    ip_ownership: str
    signatures: list[SignatureRead]
    started_at: datetime | None
    midterm_outcome: str | None
    midterm_comment: str | None
    midterm_rectify_by: date | None
    midterm_at: datetime | None
    acceptance_requests: int
    acceptance_requested_at: datetime | None
    rectify_by: date | None
    acceptance_comment: str | None
    failure_kind: FailureKind | None
    ended_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ProjectPage(Page[ProjectRead]):
    """项目列表：一页 `items`，`total` 为符合条件的总数。"""


class ObjectionCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "reason": "揭榜单位申报的团队成员已于去年调离",
                    "evidence": "调动文件编号 2026-017，可提供复印件",
                }
            ]
        },
    )

    reason: Reason
    evidence: Reason


class ObjectionRead(ReadModel):
    id: int
    project_id: int
    filed_by_id: int
    filed_by_name: str
    reason: str
    evidence: str
    status: ObjectionStatus
    resolution: str | None
    resolved_by_id: int | None
    resolved_at: datetime | None
    created_at: datetime


class ObjectionPage(Page[ObjectionRead]):
    """异议列表：一页 `items`，`total` 为符合条件的总数。"""


class ObjectionResolve(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"outcome": "dismissed", "reason": "经核查，团队成员仍在职"}]
        },
    )

    outcome: Literal["upheld", "dismissed"]
    reason: Reason
