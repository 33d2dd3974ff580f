from typing import Annotated

from fastapi import APIRouter, Path, Query

from app import db
from app.deps import BureauStaff, CurrentUser, SessionDep
from app.errors import error_responses
from app.models import Sector
from app.schemas.common import Region
from app.schemas.stats import MAX_YEAR, MIN_YEAR, Summary, Targets, TargetsRead
from app.services import stats, stats_summary

router = APIRouter(prefix="/stats", tags=["statistics"])

YearPath = Annotated[int, Path(ge=MIN_YEAR, le=MAX_YEAR, description="年份")]


@router.put(
    "/targets/{year}", summary="设置年度目标任务", responses=error_responses(401, 403, 409, 422)
)
def put_stats_targets(
    session: SessionDep, staff: BureauStaff, year: YearPath, body: Targets
) -> TargetsRead:
    """Replace the year's targets, the city's and the counties', in one transaction (bureau)."""
    targets = stats.replace_targets(session, staff=staff, year=year, data=body)
    return TargetsRead.model_validate({"year": year, **targets.model_dump()})


@router.get("/targets/{year}", summary="年度目标任务", responses=error_responses(401, 422))
def get_stats_targets(session: SessionDep, _user: CurrentUser, year: YearPath) -> TargetsRead:
    """The year's targets; empty when none are set (any signed-in user)."""
    targets = stats.get_targets(session, year=year)
    return TargetsRead.model_validate({"year": year, **targets.model_dump()})


@router.get("/summary", summary="统计汇总", responses=error_responses(401, 403, 422))
def get_stats_summary(
    session: SessionDep,
    user: CurrentUser,
    year: Annotated[
        int | None, Query(ge=MIN_YEAR, le=MAX_YEAR, description="年份，默认今年（中国时间）")
    ] = None,
    sector: Sector | None = None,
    region: Annotated[Region | None, Query(description="县（市、区）行政区划代码")] = None,
) -> Summary:
    """A year's counts, budgets, durations and targets: the bureau's all, an organisation's own."""
    if year is None:
        year = db.utcnow().astimezone(db.CHINA).year
    return stats_summary.summarise(session, user=user, year=year, sector=sector, region=region)
