"""What falls due for a user: the dates a frontend reminds people of before they pass.

Each kind is one SQL query bounded by the window (an indexed date or timestamp range, or a
project's party and status); only the few rows found are merged and sorted here.

- `bidding_deadline` (challenge, its deadline): an enterprise's own published challenges; a
  university's or institute's, those it has a live bid on; the bureau's, all published.
- `publicity_end` (project, the end of its notice period): projects in `publicity`.
- `signature` (project, the end of its notice period): projects in `signing` that the user's
  party (enterprise, university/institute or bureau) has not signed.
- `milestone` (milestone, the end of its due date): active milestones not accepted yet of
  `in_progress` projects.
- `rectification` (project): the end of `midterm_rectify_by` after a mid-term `rectify` of an
  `in_progress` project, or of `rectify_by` of a project in `rectification`.
- `acceptance` (project, the end of the due date of its last active milestone, when acceptance
  is expected): `in_progress` projects.

Dates end at midnight China time. Project kinds concern the project's parties (the owner's
enterprise users, the awarded organisation's university or institute users) and the bureau,
for all projects; experts have nothing due here. The window is (now, now + days]. What is
already due and still awaited (a signature, a milestone not accepted, a rectification or an
acceptance date passed while the project is still in that state) is listed too, before the
window, with `overdue` true, unless the caller asks for the window only. Deadlines and notice
ends that have passed are not listed: nothing is awaited from the user any more.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, exists, func, select, true
from sqlalchemy.orm import Session

from app import db
from app.models import (
    LIVE_BID_STATUSES,
    Bid,
    Challenge,
    ChallengeStatus,
    MilestoneStatus,
    Party,
    Project,
    ProjectMilestone,
    ProjectSignature,
    ProjectStatus,
    Role,
    User,
)
from app.schemas.notification import UpcomingKind

RESEARCH_ROLES = frozenset({Role.university, Role.institute})
MIDTERM_RECTIFY = "rectify"


@dataclass(frozen=True)
class Upcoming:
    kind: UpcomingKind
    object_type: str
    object_id: int
    due_at: datetime
    title: str
    project_id: int | None
    overdue: bool


def end_of_day(day: date) -> datetime:
    """The instant a date (China time) ends: midnight after it, in UTC."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=db.CHINA).astimezone(UTC)


@dataclass(frozen=True)
class _Window:
    now: datetime
    end: datetime
    overdue: bool  # also what is already due and still awaited

    @property
    def today(self) -> date:
        return self.now.astimezone(db.CHINA).date()

    @property
    def last_day(self) -> date:
        """The last date whose end falls inside the window."""
        return self.end.astimezone(db.CHINA).date() - timedelta(days=1)

    def dates(self, column: SQLColumnExpression[date | None]) -> ColumnElement[bool]:
        """A date column whose end of day falls in the window (or before it, with overdue)."""
        upper = column <= self.last_day
        return upper if self.overdue else and_(column >= self.today, upper)

    def instants(self, column: SQLColumnExpression[datetime]) -> ColumnElement[bool]:
        return and_(column > self.now, column <= self.end)


def upcoming(session: Session, user: User, *, days: int, overdue: bool = True) -> list[Upcoming]:
    """What falls due for the user in the next `days` days, soonest first."""
    now = db.utcnow()
    window = _Window(now=now, end=now + timedelta(days=days), overdue=overdue)
    found = [
        *_bidding_deadlines(session, user, window),
        *_project_dates(session, user, window),
    ]
    # Same instant: in the enum's order (a milestone before the acceptance it leads to).
    order = {kind: i for i, kind in enumerate(UpcomingKind)}
    return sorted(found, key=lambda item: (item.due_at, order[item.kind], item.object_id))


def _party(user: User) -> Party | None:
    if user.role is Role.bureau:
        return Party.bureau
    if user.role is Role.enterprise:
        return Party.enterprise
    if user.role in RESEARCH_ROLES:
        return Party.performer
    return None


def _projects_of(user: User, party: Party) -> ColumnElement[bool]:
    if party is Party.bureau:
        return true()
    if party is Party.enterprise:
        return Project.owner_organization_id == user.organization_id
    return Project.performer_organization_id == user.organization_id


def _bidding_deadlines(session: Session, user: User, window: _Window) -> list[Upcoming]:
    party = _party(user)
    if party is None:
        return []
    scope: ColumnElement[bool]
    if party is Party.bureau:
        scope = true()
    elif party is Party.enterprise:
        scope = Challenge.organization_id == user.organization_id
    else:
        scope = exists().where(
            Bid.challenge_id == Challenge.id,
            Bid.organization_id == user.organization_id,
            Bid.status.in_(LIVE_BID_STATUSES),
        )
    rows = session.execute(
        select(Challenge.id, Challenge.title, Challenge.deadline).where(
            Challenge.status == ChallengeStatus.published,
            window.instants(Challenge.deadline),
            scope,
        )
    )
    return [
        Upcoming(UpcomingKind.bidding_deadline, "challenge", id_, due, title, None, False)
        for id_, title, due in rows
    ]


def _project_dates(session: Session, user: User, window: _Window) -> list[Upcoming]:
    party = _party(user)
    if party is None:
        return []
    scope = _projects_of(user, party)
    found: list[Upcoming] = []

    # The end of the notice period of a project still in it.
    rows = session.execute(
        select(Project.id, Project.title, Project.publicity_ends_at).where(
            scope,
            Project.status == ProjectStatus.publicity,
            window.instants(Project.publicity_ends_at),
        )
    )
    found += _of_projects(UpcomingKind.publicity_end, rows, window)

    # The agreement awaits this party's signature from the end of the notice period on.
    signed = exists().where(
        ProjectSignature.project_id == Project.id, ProjectSignature.party == party
    )
    signing = Project.current_status_is(ProjectStatus.signing)
    upper = Project.publicity_ends_at <= window.end
    rows = session.execute(
        select(Project.id, Project.title, Project.publicity_ends_at).where(
            scope,
            signing,
            ~signed,
            upper if window.overdue else and_(upper, Project.publicity_ends_at > window.now),
        )
    )
    found += _of_projects(UpcomingKind.signature, rows, window)

    running = and_(scope, Project.status == ProjectStatus.in_progress)
    milestones = session.execute(
        select(
            ProjectMilestone.id,
            ProjectMilestone.title,
            ProjectMilestone.due_date,
            Project.id,
            Project.title,
        )
        .join(Project, Project.id == ProjectMilestone.project_id)
        .where(
            running,
            ProjectMilestone.active,
            ProjectMilestone.status != MilestoneStatus.accepted,
            window.dates(ProjectMilestone.due_date),
        )
    )
    found += [
        _dated(UpcomingKind.milestone, "milestone", id_, f"{project}：{title}", day, pid, window)
        for id_, title, day, pid, project in milestones
    ]

    midterm = session.execute(
        select(Project.id, Project.title, Project.midterm_rectify_by).where(
            running,
            Project.midterm_outcome == MIDTERM_RECTIFY,
            window.dates(Project.midterm_rectify_by),
        )
    )
    found += [
        _dated(UpcomingKind.rectification, "project", id_, f"{t}（中期检查整改）", d, id_, window)
        for id_, t, d in midterm
        if d is not None
    ]
    acceptance_rectify = session.execute(
        select(Project.id, Project.title, Project.rectify_by).where(
            scope,
            Project.status == ProjectStatus.rectification,
            window.dates(Project.rectify_by),
        )
    )
    found += [
        _dated(UpcomingKind.rectification, "project", id_, f"{t}（验收整改）", d, id_, window)
        for id_, t, d in acceptance_rectify
        if d is not None
    ]

    # Acceptance is expected when the last active milestone is due.
    last = (
        select(
            ProjectMilestone.project_id.label("project_id"),
            func.max(ProjectMilestone.due_date).label("due_date"),
        )
        .where(ProjectMilestone.active)
        .group_by(ProjectMilestone.project_id)
        .subquery()
    )
    expected = session.execute(
        select(Project.id, Project.title, last.c.due_date)
        .join(last, last.c.project_id == Project.id)
        .where(running, window.dates(last.c.due_date))
    )
    found += [
        _dated(UpcomingKind.acceptance, "project", id_, title, day, id_, window)
        for id_, title, day in expected
    ]
    return found


def _of_projects(
    kind: UpcomingKind, rows: Iterable[tuple[int, str, datetime]], window: _Window
) -> list[Upcoming]:
    return [
        Upcoming(kind, "project", id_, due, title, id_, due <= window.now)
        for id_, title, due in rows
    ]


def _dated(
    kind: UpcomingKind,
    object_type: str,
    object_id: int,
    title: str,
    day: date,
    project_id: int,
    window: _Window,
) -> Upcoming:
    return Upcoming(
        kind, object_type, object_id, end_of_day(day), title, project_id, day < window.today
    )
