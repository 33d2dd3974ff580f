"""The period report's answer (`GET /stats/report?format=json`)."""

from datetime import date, datetime

from pydantic import BaseModel, Field

from app.models.challenge import Sector
from app.schemas.common import Money


class ReportTotals(BaseModel):
    challenges_published: int
    challenge_budget: Money  # of the challenges published, 万元
    bids_submitted: int
    projects_awarded: int
    government_funding: Money  # the government's share of the awarded projects, 万元
    projects_accepted: int
    milestones_overdue: int  # as of `overdue_as_of`


class MonthFigures(BaseModel):
    month: str = Field(examples=["2026-03"])
    challenges_published: int
    bids_submitted: int
    projects_awarded: int
    projects_accepted: int
    government_funding: Money


class SectorProgress(BaseModel):
    """Year to the period's end, against the city-wide targets (region "") of the year."""

    sector: Sector
    name: str
    published: int
    published_target: int
    awarded: int
    awarded_target: int
    completed: int
    completed_target: int


class RankingRow(BaseModel):
    rank: int
    region: str
    name: str
    challenges_published: int
    projects_awarded: int
    projects_accepted: int
    milestones_overdue: int
    government_funding: Money
    completion: float | None  # year to date against the county's targets, capped; None: none
    score: float


class NewChallengeRow(BaseModel):
    region: str
    name: str
    sector: Sector
    challenges: int
    budget: Money
    bids: int


class AwardItem(BaseModel):
    project_id: int
    title: str
    region: str
    region_name: str
    sector: Sector
    awarded_at: datetime
    performer: str
    budget: Money
    government_funding: Money


class AcceptedItem(BaseModel):
    project_id: int
    title: str
    region: str
    region_name: str
    sector: Sector
    accepted_at: datetime
    performer: str
    budget: Money
    disbursed: Money


class OverdueItem(BaseModel):
    project_id: int
    project_title: str
    milestone_id: int
    milestone_title: str
    region: str
    region_name: str
    due_date: date
    days_overdue: int


class Report(BaseModel):
    period: str = Field(examples=["2026-Q1"])
    starts_on: date
    ends_before: date  # the first day after the period (China time)
    overdue_as_of: datetime  # the period's end or now, whichever is earlier
    totals: ReportTotals
    months: list[MonthFigures]
    sectors: list[SectorProgress]
    ranking: list[RankingRow]
    new_challenges: list[NewChallengeRow]
    awards: list[AwardItem]
    accepted: list[AcceptedItem]
    overdue: list[OverdueItem]
