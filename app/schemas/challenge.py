from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from app.models import ChallengeStatus, Sector
from app.schemas.common import (
    Description,
    LongText,
    Money,
    Page,
    PatchModel,
    ReadModel,
    Region,
    ShortText,
    Tags,
    Title,
)

IndicatorName = Annotated[str, Field(min_length=1, max_length=100)]


class Indicator(BaseModel):
    """A technical indicator to reach (指标), e.g. 纯度 ≥99.99 %."""

    model_config = ConfigDict(extra="forbid")

    name: Title = Field(examples=["纯度"])
    target: ShortText = Field(examples=["≥99.99"])
    unit: ShortText = Field(default="", examples=["%"])


def _in_future(value: datetime) -> datetime:
    try:
        value = value.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59-08:00 is past the last UTC date Python knows
        raise ValueError("截止时间超出范围") from None
    if value <= datetime.now(UTC):
        raise ValueError("截止时间必须晚于当前时间")
    return value


FutureDeadline = Annotated[
    AwareDatetime, AfterValidator(_in_future), Field(examples=["2027-03-31T17:00:00+08:00"])
]
Indicators = Annotated[list[Indicator], Field(max_length=50)]


class ChallengeCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": "高纯热解氮化硼坩埚制备工艺",
                    "description": "现有坩埚纯度不足，高温下析出杂质，影响半导体单晶生长良率。",
                    "indicators": [{"name": "纯度", "target": "≥99.99", "unit": "%"}],
                    "expected_outcome": "形成可量产的工艺包",
                    "sector": "industry",
                    "budget": "300.00",
                    "deadline": "2027-03-31T17:00:00+08:00",
                    "region": "211302",
                    "tags": ["热解氮化硼", "半导体材料"],
                    "contact": "李工 0421-0000000",
                }
            ]
        },
    )

    title: Title
    description: Description
    indicators: Indicators = []
    expected_outcome: LongText = ""
    sector: Sector
    budget: Money
    deadline: FutureDeadline
    region: Region
    tags: Tags = []
    contact: ShortText = ""


class ChallengeUpdate(PatchModel):
    """Any subset of the editable fields; server-owned fields are refused."""

    title: Title | None = None
    description: Description | None = None
    indicators: Indicators | None = None
    expected_outcome: LongText | None = None
    sector: Sector | None = None
    budget: Money | None = None
    deadline: FutureDeadline | None = None
    region: Region | None = None
    tags: Tags | None = None
    contact: ShortText | None = None


class ChallengeRead(ReadModel):
    id: int
    organization_id: int
    title: str
    description: str
    indicators: list[Indicator]
    expected_outcome: str
    sector: Sector
    tags: list[str]
    budget: Money
    deadline: datetime
    region: str
    contact: str
    # As of now: a published challenge past its deadline reads as closed (see the model).
    status: ChallengeStatus = Field(validation_alias="current_status")
    status_reason: str | None = Field(validation_alias="current_status_reason")
    published_at: datetime | None
    # The live (not revoked) project once awarded: its public notice is where objections go.
    project_id: int | None = None
    created_at: datetime
    updated_at: datetime


class ChallengePage(Page[ChallengeRead]):
    """榜单列表：一页 `items`，`total` 为符合条件的总数。"""
