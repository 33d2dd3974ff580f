"""Yearly targets and the statistics summary."""

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.models import BidStatus, ChallengeStatus, FailureKind, ProjectStatus, Sector
from app.schemas.common import Money, Region

MIN_YEAR = 2000
MAX_YEAR = 2100
Year = Annotated[int, Field(ge=MIN_YEAR, le=MAX_YEAR, examples=[2026])]
Count = Annotated[int, Field(ge=0, le=1_000_000)]


class TargetFigures(BaseModel):
    """One sector's targets for a year; a figure left out is 0."""

    model_config = ConfigDict(extra="forbid")

    published: Count = Field(default=0, description="发布榜单数")
    awarded: Count = Field(default=0, description="授榜（立项）项目数")
    completed: Count = Field(default=0, description="验收通过项目数")
    budget: Money = Field(default=Decimal(0), description="授榜项目预算合计，万元")


class Targets(BaseModel):
    """A year's targets: the city's per sector, and each county's per sector.

    A sector left out has no target (it is not a target of 0).
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "sectors": {
                        "agriculture": {
                            "published": 8,
                            "awarded": 4,
                            "completed": 3,
                            "budget": "400.00",
                        }
                    },
                    "regions": {"211302": {"industry": {"published": 3, "awarded": 2}}},
                }
            ]
        },
    )

    sectors: dict[Sector, TargetFigures] = Field(default_factory=dict, description="全市分领域")
    regions: dict[Region, dict[Sector, TargetFigures]] = Field(
        default_factory=dict, description="分县（市、区）分领域"
    )


class TargetFiguresRead(BaseModel):
    published: int
    awarded: int
    completed: int
    budget: Money


class TargetsRead(BaseModel):
    """A year's targets as answered: every figure listed."""

    year: int
    sectors: dict[Sector, TargetFiguresRead]
    regions: dict[str, dict[Sector, TargetFiguresRead]]


class EventCounts(BaseModel):
    """How many things happened in the year: in all, and by sector, county and month."""

    total: int
    by_sector: dict[Sector, int]
    by_region: dict[str, int] = Field(description="每个受理的县（市、区）代码，含 0")
    by_month: dict[str, int] = Field(description='"2026-01" … "2026-12"，中国时间')


class FailedCounts(EventCounts):
    by_kind: dict[FailureKind, int]


class ChallengeCounts(BaseModel):
    by_status: dict[ChallengeStatus, int] = Field(
        description="本年的榜单（本年发布的，或本年创建且从未发布的）按当前状态"
    )
    published: EventCounts = Field(description="本年发布的榜单")


class BidCounts(BaseModel):
    by_status: dict[BidStatus, int] = Field(description="本年提交的申报按当前状态")
    submitted: EventCounts = Field(description="本年提交的申报")


class ProjectCounts(BaseModel):
    by_status: dict[ProjectStatus, int] = Field(description="本年授榜产生的项目按当前状态")
    awarded: EventCounts = Field(description="本年授榜且未被撤销的项目")
    started: EventCounts = Field(description="本年立项（三方签订任务书）的项目")
    completed: EventCounts = Field(description="本年验收通过的项目")
    failed: FailedCounts = Field(description="本年验收不通过的项目")
    terminated: EventCounts = Field(description="本年终止的项目")


class Budgets(BaseModel):
    published: Money = Field(description="本年发布榜单的预算合计")
    awarded: Money = Field(description="本年授榜项目的预算合计")
    disbursed: Money = Field(description="本年拨付的财政资金合计")


class BidsPerChallenge(BaseModel):
    challenges: int = Field(description="本年发布的榜单数")
    bids: int = Field(description="这些榜单收到的申报数（含已撤回、未采纳）")
    mean: float | None = Field(description="平均每榜申报数，保留两位小数；无榜单时为 null")
    distribution: dict[str, int] = Field(description='收到 "0" "1" "2" "3" "4" "5+" 份申报的榜单数')


class Durations(BaseModel):
    publish_to_award_days: float | None = Field(
        description="本年授榜的项目：从榜单发布到授榜的天数中位数（一位小数）"
    )
    award_to_acceptance_days: float | None = Field(
        description="本年验收通过的项目：从授榜到验收通过的天数中位数（一位小数）"
    )


class CountProgress(BaseModel):
    target: int
    actual: int
    percent: float | None = Field(description="actual / target × 100，一位小数；目标为 0 时 null")


class MoneyProgress(BaseModel):
    target: Money
    actual: Money
    percent: float | None


class TargetProgress(BaseModel):
    sector: Sector
    region: str | None = Field(description="县（市、区）代码；全市目标为 null")
    published: CountProgress
    awarded: CountProgress
    completed: CountProgress
    budget: MoneyProgress


class SummaryScope(BaseModel):
    organization_id: int | None = Field(description="只统计本单位时为本单位 id；科技局为 null")
    sector: Sector | None
    region: str | None


class Summary(BaseModel):
    year: int
    scope: SummaryScope
    challenges: ChallengeCounts
    bids: BidCounts
    projects: ProjectCounts
    budget: Budgets
    bids_per_challenge: BidsPerChallenge
    median: Durations
    targets: list[TargetProgress]
