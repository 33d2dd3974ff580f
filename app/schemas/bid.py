from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.models import BidStatus
from app.schemas.common import Description, LongText, Money, Page, ReadModel, Title


class Milestone(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title = Field(examples=["完成中试样品"])
    due_date: date = Field(examples=["2027-09-30"])


Milestones = Annotated[list[Milestone], Field(max_length=50)]


class PromisedIndicator(BaseModel):
    """The value a bid promises for one of the challenge's indicators (指标)."""

    model_config = ConfigDict(extra="forbid")

    name: Title = Field(examples=["纯度"])
    promised: Title = Field(examples=["≥99.995"])


def _unique_names(items: list[PromisedIndicator]) -> list[PromisedIndicator]:
    names = [item.name for item in items]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"指标重复：{'、'.join(duplicates)}")
    return items


PromisedIndicators = Annotated[
    list[PromisedIndicator], Field(max_length=50), AfterValidator(_unique_names)
]


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
                    "indicators": [{"name": "纯度", "promised": "≥99.995"}],
                }
            ]
        },
    )

    approach: Description
    team: Description
    budget: Money
    duration_months: int = Field(ge=1, le=120)
    milestones: Milestones = []
    # One value for each of the challenge's indicators, by name (checked against the challenge).
    indicators: PromisedIndicators = []


class BidRead(ReadModel):
    id: int
    challenge_id: int
    organization_id: int
    approach: str
    team: str
    budget: Money
    duration_months: int
    milestones: list[Milestone]
    indicators: list[PromisedIndicator]
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
