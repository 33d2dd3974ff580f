"""The statistics summary of a year (`GET /stats/summary`), aggregated by the database.

Every figure is a GROUP BY over the year's rows, grouped by the challenge's sector and county
(bids and projects carry copies of them) and by the China-time month, on boundaries computed
here (UTC instants of the 1st, 00:00 UTC+8): twelve ranges joined by UNION ALL where an index
leads with the instant (the year's challenges and bids), else a CASE over the boundaries. The
same SQL runs on SQLite and PostgreSQL. Python only adds up those small grouped results
(at most sectors × counties × 12 rows a figure). The two medians are PostgreSQL's
percentile_cont; SQLite, which has no median, fetches the pairs of instants and takes the
median in Python.

Who sees what: the bureau everything; an enterprise the challenges it published, the bids on
them and its projects; a university or institute the challenges it bid on, its own bids and
the projects it performs. Experts have no figures of their own: 403.
"""

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    exists,
    func,
    literal,
    select,
    text,
)
from sqlalchemy.orm import Session, aliased

from app import db
from app.config import get_settings
from app.errors import Forbidden
from app.models import (
    Bid,
    BidStatus,
    Challenge,
    ChallengeStatus,
    Disbursement,
    FailureKind,
    Project,
    ProjectStatus,
    Role,
    Sector,
    User,
)
from app.schemas.stats import (
    BidCounts,
    BidsPerChallenge,
    Budgets,
    ChallengeCounts,
    CountProgress,
    Durations,
    EventCounts,
    FailedCounts,
    MoneyProgress,
    ProjectCounts,
    Summary,
    SummaryScope,
    TargetProgress,
)
from app.services.stats import CITY, by_month, target_rows

RESEARCH_ROLES = frozenset({Role.university, Role.institute})
S = ProjectStatus
DAY = 86_400
BID_BUCKETS = ("0", "1", "2", "3", "4", "5+")
PROJECT_PLACE = (Project.sector, Project.region)  # copied from the challenge at the award


@dataclass(frozen=True)
class Scope:
    """What one summary counts: the organisation's own (as owner or performer) or all."""

    year: int
    sector: Sector | None
    region: str | None
    owner_id: int | None = None  # an enterprise: its challenges, their bids, its projects
    performer_id: int | None = None  # a university or institute: its bids and projects

    @property
    def months(self) -> list[datetime]:
        """13 boundaries: the 1st of each month of the year and of the next January, UTC+8."""
        firsts = [datetime(self.year, m, 1, tzinfo=db.CHINA) for m in range(1, 13)]
        return [*firsts, datetime(self.year + 1, 1, 1, tzinfo=db.CHINA)]

    def in_year(self, column: Any) -> ColumnElement[bool]:
        bounds = self.months
        return and_(column >= bounds[0], column < bounds[-1])

    def filters(
        self, sector: Any = Challenge.sector, region: Any = Challenge.region
    ) -> list[ColumnElement[bool]]:
        """The sector and county filters, on the challenge's columns (or a bid's copies)."""
        conditions = []
        if self.sector is not None:
            conditions.append(sector == self.sector)
        if self.region is not None:
            conditions.append(region == self.region)
        return conditions

    def challenges(self, *columns: Any) -> Select[Any]:
        stmt = select(*columns).select_from(Challenge).where(*self.filters())
        if self.owner_id is not None:
            stmt = stmt.where(Challenge.organization_id == self.owner_id)
        if self.performer_id is not None:
            own = aliased(Bid)  # the summary's own queries may join Bid as well
            stmt = stmt.where(
                exists().where(
                    own.challenge_id == Challenge.id, own.organization_id == self.performer_id
                )
            )
        return stmt

    def bids(self, *columns: Any) -> Select[Any]:
        """Bids, filtered by the sector and county they carry: no join but the owner's."""
        stmt = select(*columns).select_from(Bid).where(*self.filters(Bid.sector, Bid.region))
        if self.owner_id is not None:
            stmt = stmt.join(Challenge, Bid.challenge_id == Challenge.id).where(
                Challenge.organization_id == self.owner_id
            )
        if self.performer_id is not None:
            stmt = stmt.where(Bid.organization_id == self.performer_id)
        return stmt

    def projects(self, *columns: Any) -> Select[Any]:
        """Projects, filtered by the sector and county they carry: no join."""
        stmt = (
            select(*columns)
            .select_from(Project)
            .where(*self.filters(Project.sector, Project.region))
        )
        if self.owner_id is not None:
            stmt = stmt.where(Project.owner_organization_id == self.owner_id)
        if self.performer_id is not None:
            stmt = stmt.where(Project.performer_organization_id == self.performer_id)
        return stmt


def scope_for(user: User, *, year: int, sector: Sector | None, region: str | None) -> Scope:
    """The bureau's scope is everything; an organisation's its own; experts have none (403)."""
    if user.role is Role.bureau:
        return Scope(year, sector, region)
    if user.role is Role.enterprise:
        return Scope(year, sector, region, owner_id=user.organization_id)
    if user.role in RESEARCH_ROLES:
        return Scope(year, sector, region, performer_id=user.organization_id)
    raise Forbidden("专家没有本单位的统计数据", code="role_not_allowed")


# A grid is the grouped result of one query: (sector, region, *by, month) → (count, amount),
# `by` being the values of the extra columns it is grouped by (a status, a failure's kind).
Key = tuple[Any, ...]
Grid = dict[Key, tuple[int, Decimal]]
SECTOR, REGION, BY, MONTH = 0, 1, 2, -1


def _grid(
    session: Session,
    scope: Scope,
    source: Select[Any],
    at: Any,
    amount: Any,
    *by: Any,
    place: tuple[Any, Any] = (Challenge.sector, Challenge.region),
    indexed: bool = False,
) -> Grid:
    """Group the rows of `source` (a Scope select of no columns) by sector, county, month.

    `indexed`: `at` leads an index (PostgreSQL's covering indexes of the year's challenges
    and bids), so each month is read as its own range of it (`stats.by_month`).
    `amount` None: no sum (the cells' amounts are 0), which spares a numeric sum per row.
    `place`: the sector and county columns grouped by (a bid's own copies, for bids).
    """
    total = literal(0) if amount is None else func.sum(amount)
    stmt = by_month(source, at, scope.months, [*place, *by], [func.count(), total], ranges=indexed)
    grid: Grid = {}
    for row in session.execute(stmt):
        *key, n, total = row
        key[SECTOR] = Sector(key[SECTOR])
        key[BY:MONTH] = [None if value is None else str(value) for value in key[BY:MONTH]]
        grid[tuple(key)] = (int(n), Decimal(total or 0))
    return grid


def _where(grid: Grid, position: int, *values: str) -> Grid:
    """The cells whose `by` value at `position` is one of `values`."""
    return {key: cell for key, cell in grid.items() if key[position] in values}


def _tally(grid: Grid, position: int) -> dict[str, int]:
    """Counts by the key's value at `position`."""
    tally: dict[str, int] = {}
    for key, (n, _amount) in grid.items():
        tally[key[position]] = tally.get(key[position], 0) + n
    return tally


def _counts(scope: Scope, grid: Grid) -> EventCounts:
    regions = list(get_settings().regions)
    by_sector = dict.fromkeys(Sector, 0)
    by_region = dict.fromkeys(regions, 0)
    by_month = {f"{scope.year}-{m:02d}": 0 for m in range(1, 13)}
    for key, (n, _amount) in grid.items():
        by_sector[key[SECTOR]] += n
        by_region[key[REGION]] = by_region.get(key[REGION], 0) + n
        by_month[f"{scope.year}-{key[MONTH]:02d}"] += n
    return EventCounts(
        total=sum(by_sector.values()), by_sector=by_sector, by_region=by_region, by_month=by_month
    )


def _challenge_status(now: datetime) -> ColumnElement[str]:
    """`Challenge.current_status` in SQL: published past its deadline reads as closed."""
    past = and_(Challenge.status == ChallengeStatus.published, Challenge.deadline <= now)
    return case((past, literal(ChallengeStatus.closed.value)), else_=Challenge.status)


def _project_status(now: datetime) -> ColumnElement[str]:
    """`Project.current_status` in SQL: a notice period that has ended reads as signing."""
    over = and_(
        Project.status == ProjectStatus.publicity,
        Project.open_objections == 0,
        Project.publicity_ends_at <= now,
    )
    return case((over, literal(ProjectStatus.signing.value)), else_=Project.status)


def summarise(
    session: Session, *, user: User, year: int, sector: Sector | None, region: str | None
) -> Summary:
    """The year's figures that `user` may see (see the module's docstring)."""
    scope = scope_for(user, year=year, sector=sector, region=region)
    # The covering indexes of the year's challenges and bids are PostgreSQL's alone.
    indexed = session.get_bind().dialect.name == "postgresql"
    if indexed:
        # These queries' cost estimates pass jit_above_cost, and compiling them took longer
        # (0.3–0.45 s at the benchmark's volume) than running them: off, for this read only.
        session.execute(text("SET LOCAL jit = off"))
    now = db.utcnow()

    # The year's challenges: published in it (the grid, by current status too), or never
    # published and created in it (a few drafts, from ix_challenge_published's NULLs).
    challenge_status = _challenge_status(now)
    published = _grid(
        session,
        scope,
        scope.challenges(),
        Challenge.published_at,
        Challenge.budget,
        challenge_status,
        indexed=indexed,
    )
    statuses = _tally(published, BY)
    for status, n in session.execute(
        scope.challenges(challenge_status, func.count())
        .where(Challenge.published_at.is_(None), scope.in_year(Challenge.created_at))
        .group_by(challenge_status)
    ):
        statuses[str(status)] = statuses.get(str(status), 0) + int(n)
    challenges = ChallengeCounts(
        by_status={s: statuses.get(s.value, 0) for s in ChallengeStatus},
        published=_counts(scope, published),
    )

    # Counts only: nothing reads the bids' budgets, and the sum cost a numeric per bid. By
    # the bids' own sector and county: the year's bids alone, from ix_bid_created.
    submitted = _grid(
        session,
        scope,
        scope.bids(),
        Bid.created_at,
        None,
        Bid.status,
        place=(Bid.sector, Bid.region),
        indexed=indexed,
    )
    bid_statuses = _tally(submitted, BY)
    bids = BidCounts(
        by_status={s: bid_statuses.get(s.value, 0) for s in BidStatus},
        submitted=_counts(scope, submitted),
    )

    # Awarded in the year, by current status (revoked included); and ended in the year.
    of_year = _grid(
        session,
        scope,
        scope.projects(),
        Project.created_at,
        Project.budget,
        _project_status(now),
        place=PROJECT_PLACE,
    )
    project_statuses = _tally(of_year, BY)
    awarded = _where(of_year, BY, *(s.value for s in ProjectStatus if s is not S.revoked))
    ended = _grid(
        session,
        scope,
        scope.projects().where(Project.status.in_([S.completed, S.failed, S.terminated])),
        Project.ended_at,
        Project.budget,
        Project.status,
        Project.failure_kind,
        place=PROJECT_PLACE,
    )
    completed = _where(ended, BY, S.completed.value)
    failed = _where(ended, BY, S.failed.value)
    kinds = _tally(failed, BY + 1)
    projects = ProjectCounts(
        by_status={s: project_statuses.get(s.value, 0) for s in ProjectStatus},
        awarded=_counts(scope, awarded),
        started=_counts(
            scope,
            _grid(
                session,
                scope,
                scope.projects(),
                Project.started_at,
                Project.budget,
                place=PROJECT_PLACE,
            ),
        ),
        completed=_counts(scope, completed),
        failed=FailedCounts(
            **_counts(scope, failed).model_dump(),
            by_kind={k: kinds.get(k.value, 0) for k in FailureKind},
        ),
        terminated=_counts(scope, _where(ended, BY, S.terminated.value)),
    )

    disbursed = session.scalar(
        scope.projects(func.sum(Disbursement.amount))
        .join(Disbursement, Disbursement.project_id == Project.id)
        .where(scope.in_year(Disbursement.created_at))
    )
    budget = Budgets(
        published=_amount(published.values()),
        awarded=_amount(awarded.values()),
        disbursed=Decimal(disbursed or 0),
    )
    return Summary(
        year=year,
        scope=SummaryScope(
            organization_id=scope.owner_id or scope.performer_id, sector=sector, region=region
        ),
        challenges=challenges,
        bids=bids,
        projects=projects,
        budget=budget,
        bids_per_challenge=_bids_per_challenge(session, scope),
        median=_medians(session, scope),
        targets=_progress(session, scope, published, awarded, completed),
    )


def _amount(cells: Iterable[tuple[int, Decimal]]) -> Decimal:
    return sum((amount for _n, amount in cells), Decimal(0))


def _bids_per_challenge(session: Session, scope: Scope) -> BidsPerChallenge:
    """Bids received by the year's published challenges, in SQL: per challenge, then bucketed."""
    received: Any
    if scope.performer_id is None:
        # The count each challenge keeps (services.bids.add_bid): read with the year's
        # challenges from ix_challenge_published, no bid visited.
        received = Challenge.bid_count
    else:
        # The organisation's own bids: a few index lookups per challenge it bid on.
        received = (
            select(func.count())
            .select_from(Bid)
            .where(Bid.challenge_id == Challenge.id, Bid.organization_id == scope.performer_id)
            .scalar_subquery()
        )
    # OFFSET 0 keeps PostgreSQL from merging this subquery into the outer one, which would
    # copy a correlated count into each of the three places that read `n` and run it three
    # times per challenge (docs/performance.md, "How the statistics stay fast").
    per_challenge = (
        scope.challenges(received.label("n"))
        .where(scope.in_year(Challenge.published_at))
        .offset(0)
        .subquery()
    )
    bucket = case((per_challenge.c.n >= len(BID_BUCKETS) - 1, 5), else_=per_challenge.c.n)
    rows = session.execute(
        select(bucket, func.count(), func.sum(per_challenge.c.n)).group_by(bucket)
    ).all()
    distribution = dict.fromkeys(BID_BUCKETS, 0)
    challenges = bids = 0
    for b, n, total in rows:
        distribution[BID_BUCKETS[int(b)]] = int(n)
        challenges += int(n)
        bids += int(total or 0)
    mean = round(bids / challenges, 2) if challenges else None
    return BidsPerChallenge(challenges=challenges, bids=bids, mean=mean, distribution=distribution)


def _medians(session: Session, scope: Scope) -> Durations:
    """Median days publish → award (the year's awards) and award → acceptance (the year's)."""
    to_award = (
        scope.projects(Challenge.published_at, Project.created_at)
        .join(Challenge, Project.challenge_id == Challenge.id)
        .where(
            Project.status != ProjectStatus.revoked,
            Challenge.published_at.is_not(None),
            scope.in_year(Project.created_at),
        )
    )
    to_acceptance = scope.projects(Project.created_at, Project.ended_at).where(
        Project.status == ProjectStatus.completed, scope.in_year(Project.ended_at)
    )
    return Durations(
        publish_to_award_days=_median_days(session, to_award),
        award_to_acceptance_days=_median_days(session, to_acceptance),
    )


def _median_days(session: Session, pairs: Select[Any]) -> float | None:
    """The median, in days, of the (start, end) pairs `pairs` selects."""
    if session.get_bind().dialect.name == "postgresql":
        # In the database: ~10k pairs a year at volume, not fetched and converted one by one.
        rows = pairs.subquery()
        seconds = func.extract("epoch", rows.c[1] - rows.c[0])
        median = session.scalar(select(func.percentile_cont(0.5).within_group(seconds)))
        return None if median is None else round(float(median) / DAY, 1)
    found = session.execute(pairs).all()
    if not found:
        return None
    days: list[float] = [(end - start).total_seconds() / DAY for start, end in found]
    return round(statistics.median(days), 1)


def _progress(
    session: Session, scope: Scope, published: Grid, awarded: Grid, completed: Grid
) -> list[TargetProgress]:
    """Each of the year's targets that the filters select, with the actual figures."""
    items = []
    for row in target_rows(session, scope.year):
        if scope.sector is not None and row.sector is not scope.sector:
            continue
        if scope.region is not None and row.region != scope.region:
            continue  # a county's figures cannot be set against the city's target

        def actual(grid: Grid, sector: Sector = row.sector, region: str = row.region) -> Any:
            cells = [
                cell
                for key, cell in grid.items()
                if key[SECTOR] is sector and region in (CITY, key[REGION])
            ]
            return sum(n for n, _a in cells), _amount(cells)

        budget = actual(awarded)[1]
        items.append(
            TargetProgress(
                sector=row.sector,
                region=row.region or None,
                published=_count_progress(row.published, actual(published)[0]),
                awarded=_count_progress(row.awarded, actual(awarded)[0]),
                completed=_count_progress(row.completed, actual(completed)[0]),
                budget=MoneyProgress(
                    target=row.budget, actual=budget, percent=_percent(budget, row.budget)
                ),
            )
        )
    return items


def _count_progress(target: int, actual: int) -> CountProgress:
    return CountProgress(target=target, actual=actual, percent=_percent(actual, target))


def _percent(actual: Decimal | int, target: Decimal | int) -> float | None:
    return round(float(actual) / float(target) * 100, 1) if target else None
