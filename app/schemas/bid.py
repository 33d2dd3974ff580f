from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.models import BidStatus
from app.schemas.common import Description, LongText, Money, Page, ReadModel, Title


class Milestone(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title = Field(examples=["完成中试样品"])
    due_date: date = Field(examples=["2027-09-30"])


Milestones = Annotated[list[Milestone], Field(max_length=50)]


class BidCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "approach": "采用化学气相沉积法制备高纯热解氮化硼，配合在线杂质监测。",
                    "team": "王教授团队，12 人，含博士 5 人",
                    "budget": "280.00",
                    "duration_months": 18,
                    "milestones": [{"title": "完成中试样品", "due_date": "2027-09-30"}],
                }
            ]
        },
    )

    approach: Description
    team: Description
    budget: Money
    duration_months: int = Field(ge=1, le=120)
    milestones: Milestones = []


class BidRead(ReadModel):
    id: int
    challenge_id: int
    organization_id: int
    approach: str
    team: str
    budget: Money
    duration_months: int
    milestones: list[Milestone]
    status: BidStatus
    status_reason: str | None
    created_at: datetime
    updated_at: datetime


class BidRejectBody(BaseModel):
    reason: LongText = ""


class AwardRead(BidRead):
    project_id: int


class BidPage(Page[BidRead]):
    """申报列表：一页 `items`，`total` 为符合条件的总数。"""
