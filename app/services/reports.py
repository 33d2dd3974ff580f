"""Period reports (月调度、季通报、年报): the period's new, overdue and accepted items and the
county ranking, aggregated by the database (GROUP BY), never by a loop over rows.

A period is a month (`2026-03`), a quarter (`2026-Q1`) or a year (`2026`) in China time.
Every count is one grouped query over the year to the period's end, bucketed by month on the
months' UTC boundaries (`stats.by_month`: a range of the index a month where a PostgreSQL
covering index leads with the instant, else a CASE over the boundaries); the period's
figures, the monthly trend and the year-to-date progress against the targets are sums of
those few buckets.
"""

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from app import db
from app.models import Challenge, Organization
from app.models.bid import Bid
from app.models.challenge import Sector
from app.models.project import MilestoneStatus, Project, ProjectMilestone, ProjectStatus
from app.models.stats import Target
from app.regions import region_name
from app.schemas.report import (
    AcceptedItem,
    AwardItem,
    MonthFigures,
    NewChallengeRow,
    OverdueItem,
    RankingRow,
    Report,
    ReportTotals,
    SectorProgress,
)
from app.services.stats import by_month

PERIOD_PATTERN = r"^(20\d{2})(-(0[1-9]|1[0-2])|-Q[1-4])?$"
SECTOR_LABELS = {Sector.agriculture: "农业", Sector.industry: "工业", Sector.services: "服务业"}
# The ranking's score: 60 points for meeting the targets, 10 per accepted project, -5 per
# overdue milestone (docs/api.md, "County ranking").
COMPLETION_POINTS = 60
ACCEPTED_POINTS = 10
OVERDUE_POINTS = -5
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Period:
    """A month, quarter or year: its label, year and months (1-12), China time."""

    label: str
    year: int
    months: tuple[int, ...]

    @property
    def starts_on(self) -> date:
        return date(self.year, self.months[0], 1)

    @property
    def ends_before(self) -> date:
        """The first day after the period."""
        last = self.months[-1]
        return date(self.year + 1, 1, 1) if last == 12 else date(self.year, last + 1, 1)

    @property
    def trend_months(self) -> tuple[int, ...]:
        """The monthly trend's months: the period's, or the year to date for one month."""
        return tuple(range(1, self.months[0] + 1)) if len(self.months) == 1 else self.months


def parse_period(text: str) -> Period:
    """`2026-03`, `2026-Q1` or `2026` (already checked against PERIOD_PATTERN)."""
    match = re.fullmatch(PERIOD_PATTERN, text)
    if match is None:
        raise ValueError(text)
    year = int(match.group(1))
    if text[5:6] == "Q":
        quarter = int(text[6])
        return Period(text, year, tuple(range(3 * quarter - 2, 3 * quarter + 1)))
    if len(text) == 7:
        return Period(text, year, (int(text[5:7]),))
    return Period(text, year, tuple(range(1, 13)))


def china_midnight(day: date) -> datetime:
    """The UTC instant at which `day` begins in China."""
    return datetime.combine(day, time(), db.CHINA).astimezone(UTC)


def _month_start(year: int, month: int) -> date:
    return date(year + 1, 1, 1) if month == 13 else date(year, month, 1)


@dataclass
class Figures:
    """Counts and sums by (region, sector, month), from the grouped queries."""

    counts: dict[tuple[str, str, int], int]
    money: dict[tuple[str, str, int], Decimal]

    def total(self, months: Iterable[int], *, region: str | None = None) -> int:
        wanted = set(months)
        return sum(n for (r, _, m), n in self.counts.items() if m in wanted and region in (None, r))

    def sum_money(self, months: Iterable[int], *, region: str | None = None) -> Decimal:
        wanted = set(months)
        return sum(
            (v for (r, _, m), v in self.money.items() if m in wanted and region in (None, r)),
            ZERO,
        )

    def by_sector(self, months: Iterable[int], sector: str) -> int:
        wanted = set(months)
        return sum(n for (_, s, m), n in self.counts.items() if m in wanted and s == sector)


def _grouped(
    session: Session,
    stmt: Select[Any],
    stamp: Any,
    period: Period,
    money: Any = None,
    *,
    place: tuple[Any, Any] = (Challenge.region, Challenge.sector),
    indexed: bool = False,
) -> Figures:
    """Counts (and sums of `money`) by county, sector and month; `place`: those columns.

    `indexed`: `stamp` leads an index (PostgreSQL's covering indexes of the challenges and
    bids), read a month's range at a time (`stats.by_month`).
    """
    bounds = [china_midnight(_month_start(period.year, m)) for m in range(1, period.months[-1] + 2)]
    amount = func.coalesce(func.sum(money), 0) if money is not None else func.count()
    query = by_month(stmt, stamp, bounds, place, [func.count(), amount], ranges=indexed)
    figures = Figures({}, {})
    for region, sector, bucket, count, total in session.execute(query):
        key = (region, str(sector), int(bucket))
        figures.counts[key] = int(count)
        figures.money[key] = Decimal(total) if money is not None else ZERO
    return figures


def _live_project() -> ColumnElement[bool]:
    return Project.status != ProjectStatus.revoked


def build_report(
    session: Session, *, period: Period, regions: Sequence[str], items: bool = True
) -> Report:
    """The period's report: totals, the monthly trend, sector progress, ranking and lists.

    `items=False` leaves the lists (awards, accepted, overdue) empty: the CSV shows only the
    ranking, and the XLSX reads them as rows (`report_lists`).
    """
    now = db.utcnow()
    cutoff = min(china_midnight(period.ends_before), now)
    months = period.months
    # The covering indexes of the challenges' and bids' instants are PostgreSQL's alone.
    indexed = session.get_bind().dialect.name == "postgresql"
    published = _grouped(
        session,
        select().select_from(Challenge),
        Challenge.published_at,
        period,
        Challenge.budget,
        indexed=indexed,
    )
    # By the county and sector each bid carries: the period's bids alone, no join.
    bids = _grouped(
        session,
        select().select_from(Bid),
        Bid.created_at,
        period,
        place=(Bid.region, Bid.sector),
        indexed=indexed,
    )
    # Projects by the county and sector they carry (copied at the award): no join either.
    projects = (Project.region, Project.sector)
    awards_stmt = select().select_from(Project).where(_live_project())
    awarded = _grouped(
        session,
        awards_stmt,
        Project.created_at,
        period,
        Project.government_funding,
        place=projects,
    )
    completed_stmt = select().select_from(Project).where(Project.status == ProjectStatus.completed)
    accepted = _grouped(session, completed_stmt, Project.ended_at, period, place=projects)
    overdue_by_region = dict(
        session.execute(
            select(Project.region, func.count())
            .select_from(ProjectMilestone)
            .join(Project, Project.id == ProjectMilestone.project_id)
            .where(_overdue_at(cutoff))
            .group_by(Project.region)
        ).all()
    )
    lists = report_lists(session, period=period, cutoff=cutoff) if items else None
    year_to_date = range(1, months[-1] + 1)
    targets = _targets(session, year=period.year)
    ranking = _ranking(
        regions,
        targets=targets,
        ytd=(published, awarded, accepted),
        period_months=months,
        year_months=year_to_date,
        overdue=overdue_by_region,
    )
    return Report(
        period=period.label,
        starts_on=period.starts_on,
        ends_before=period.ends_before,
        overdue_as_of=cutoff,
        totals=ReportTotals(
            challenges_published=published.total(months),
            challenge_budget=published.sum_money(months),
            bids_submitted=bids.total(months),
            projects_awarded=awarded.total(months),
            government_funding=awarded.sum_money(months),
            projects_accepted=accepted.total(months),
            milestones_overdue=sum(overdue_by_region.values()),
        ),
        months=[
            MonthFigures(
                month=f"{period.year}-{m:02d}",
                challenges_published=published.total([m]),
                bids_submitted=bids.total([m]),
                projects_awarded=awarded.total([m]),
                projects_accepted=accepted.total([m]),
                government_funding=awarded.sum_money([m]),
            )
            for m in period.trend_months
        ],
        sectors=[
            SectorProgress(
                sector=sector,
                name=SECTOR_LABELS[sector],
                published=published.by_sector(year_to_date, sector),
                published_target=targets.get(("", sector), (0, 0, 0))[0],
                awarded=awarded.by_sector(year_to_date, sector),
                awarded_target=targets.get(("", sector), (0, 0, 0))[1],
                completed=accepted.by_sector(year_to_date, sector),
                completed_target=targets.get(("", sector), (0, 0, 0))[2],
            )
            for sector in Sector
        ],
        ranking=ranking,
        new_challenges=_new_challenges(published, bids, months),
        awards=_award_items(lists) if lists else [],
        accepted=_accepted_items(lists) if lists else [],
        overdue=_overdue_items(lists) if lists else [],
    )


def _overdue_at(cutoff: datetime) -> ColumnElement[bool]:
    """SQL: a milestone of a live project past due and not accepted at `cutoff`."""
    today = cutoff.astimezone(db.CHINA).date()
    return and_(
        ProjectMilestone.active,
        ProjectMilestone.due_date < today,
        or_(
            ProjectMilestone.status != MilestoneStatus.accepted,
            ProjectMilestone.decided_at >= cutoff,
        ),
        Project.created_at < cutoff,
        _live_project(),
        or_(Project.ended_at.is_(None), Project.ended_at >= cutoff),
    )


def _targets(session: Session, *, year: int) -> dict[tuple[str, str], tuple[int, int, int]]:
    rows = session.execute(
        select(
            Target.region, Target.sector, Target.published, Target.awarded, Target.completed
        ).where(Target.year == year)
    )
    return {(r, str(s)): (p, a, c) for r, s, p, a, c in rows}


def completion(actual: Sequence[int], target: Sequence[int]) -> float | None:
    """Mean over the targets set (> 0) of actual / target, each capped at 1; None if none."""
    shares = [min(a / t, 1.0) for a, t in zip(actual, target, strict=True) if t > 0]
    return sum(shares) / len(shares) if shares else None


def _ranking(
    regions: Sequence[str],
    *,
    targets: dict[tuple[str, str], tuple[int, int, int]],
    ytd: tuple[Figures, Figures, Figures],
    period_months: Sequence[int],
    year_months: Iterable[int],
    overdue: dict[str, int],
) -> list[RankingRow]:
    published, awarded, accepted = ytd
    year_months = list(year_months)
    county_targets: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for (region, _), values in targets.items():
        if region:
            for i, value in enumerate(values):
                county_targets[region][i] += value
    rows = []
    for region in regions:
        done = completion(
            [
                published.total(year_months, region=region),
                awarded.total(year_months, region=region),
                accepted.total(year_months, region=region),
            ],
            county_targets.get(region, [0, 0, 0]),
        )
        n_accepted = accepted.total(period_months, region=region)
        n_overdue = overdue.get(region, 0)
        score = (
            COMPLETION_POINTS * (done or 0.0)
            + ACCEPTED_POINTS * n_accepted
            + OVERDUE_POINTS * n_overdue
        )
        rows.append(
            RankingRow(
                rank=0,
                region=region,
                name=region_name(region),
                challenges_published=published.total(period_months, region=region),
                projects_awarded=awarded.total(period_months, region=region),
                projects_accepted=n_accepted,
                milestones_overdue=n_overdue,
                government_funding=awarded.sum_money(period_months, region=region),
                completion=None if done is None else round(done, 4),
                score=round(score, 1),
            )
        )
    rows.sort(
        key=lambda row: (
            -row.score,
            -(row.completion if row.completion is not None else -1.0),
            -row.projects_accepted,
            row.milestones_overdue,
            row.region,
        )
    )
    for rank, row in enumerate(rows, start=1):
        row.rank = rank
    return rows


def _new_challenges(
    published: Figures, bids: Figures, months: Sequence[int]
) -> list[NewChallengeRow]:
    wanted = set(months)
    rows: dict[tuple[str, str], list[Any]] = {}
    for (region, sector, month), count in published.counts.items():
        if month in wanted:
            row = rows.setdefault((region, sector), [0, ZERO, 0])
            row[0] += count
            row[1] += published.money[(region, sector, month)]
    for (region, sector, month), count in bids.counts.items():
        if month in wanted:
            rows.setdefault((region, sector), [0, ZERO, 0])[2] += count
    return [
        NewChallengeRow(
            region=region,
            name=region_name(region),
            sector=Sector(sector),
            challenges=count,
            budget=budget,
            bids=n_bids,
        )
        for (region, sector), (count, budget, n_bids) in sorted(rows.items())
    ]


def _window(period: Period) -> tuple[datetime, datetime]:
    return china_midnight(period.starts_on), china_midnight(period.ends_before)


@dataclass(frozen=True)
class ReportLists:
    """The period's lists as database rows, in their items' order (see `report_lists`)."""

    # awards: project id, title, region, sector, awarded at, performer, budget, funding;
    # accepted: the same with the acceptance's time and the amount disbursed;
    # overdue: project id, project title, milestone id, milestone title, region, due date.
    awards: Sequence[Any]
    accepted: Sequence[Any]
    overdue: Sequence[Any]
    today: date  # the day (China time) the overdue items are judged on


def report_lists(session: Session, *, period: Period, cutoff: datetime) -> ReportLists:
    """The period's awards and acceptances and the milestones overdue at `cutoff`, as rows.

    Read through the session's connection (SQLAlchemy Core): a year holds tens of thousands
    of rows, and the XLSX writes them straight from these tuples (app/services/report_tables.py)
    without making a validated item of each.
    """
    start, end = _window(period)
    performer = aliased(Organization)
    connection = session.connection()
    awards = connection.execute(
        select(
            Project.id,
            Project.title,
            Project.region,
            Project.sector,
            Project.created_at,
            performer.name,
            Project.budget,
            Project.government_funding,
        )
        .join(performer, performer.id == Project.performer_organization_id)
        .where(_live_project(), Project.created_at >= start, Project.created_at < end)
        .order_by(Project.created_at, Project.id)
    ).all()
    accepted = connection.execute(
        select(
            Project.id,
            Project.title,
            Project.region,
            Project.sector,
            Project.ended_at,
            performer.name,
            Project.budget,
            Project.disbursed,
        )
        .join(performer, performer.id == Project.performer_organization_id)
        .where(
            Project.status == ProjectStatus.completed,
            Project.ended_at >= start,
            Project.ended_at < end,
        )
        .order_by(Project.ended_at, Project.id)
    ).all()
    overdue = connection.execute(
        select(
            Project.id,
            Project.title,
            ProjectMilestone.id,
            ProjectMilestone.title,
            Project.region,
            ProjectMilestone.due_date,
        )
        .select_from(ProjectMilestone)
        .join(Project, Project.id == ProjectMilestone.project_id)
        .where(_overdue_at(cutoff))
        .order_by(ProjectMilestone.due_date, ProjectMilestone.id)
    ).all()
    return ReportLists(awards, accepted, overdue, cutoff.astimezone(db.CHINA).date())


def _award_items(lists: ReportLists) -> list[AwardItem]:
    return [
        AwardItem(
            project_id=pid,
            title=title,
            region=region,
            region_name=region_name(region),
            sector=sector,
            awarded_at=at,
            performer=name,
            budget=budget,
            government_funding=funding,
        )
        for pid, title, region, sector, at, name, budget, funding in lists.awards
    ]


def _accepted_items(lists: ReportLists) -> list[AcceptedItem]:
    return [
        AcceptedItem(
            project_id=pid,
            title=title,
            region=region,
            region_name=region_name(region),
            sector=sector,
            accepted_at=at,
            performer=name,
            budget=budget,
            disbursed=disbursed,
        )
        for pid, title, region, sector, at, name, budget, disbursed in lists.accepted
    ]


def _overdue_items(lists: ReportLists) -> list[OverdueItem]:
    return [
        OverdueItem(
            project_id=pid,
            project_title=ptitle,
            milestone_id=mid,
            milestone_title=mtitle,
            region=region,
            region_name=region_name(region),
            due_date=due,
            days_overdue=(lists.today - due).days,
        )
        for pid, ptitle, mid, mtitle, region, due in lists.overdue
    ]
