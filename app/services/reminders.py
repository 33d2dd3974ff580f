"""Reminders written by `python -m app.jobs remind`: milestones due or overdue, signatures awaited.

Each reminder is written once per user, object and kind: it carries a key
(`kind:object_type:object_id`), and the unique index on (user_id, reminder_key) turns a second
insert into nothing (INSERT ... ON CONFLICT DO NOTHING). So the job may run twice, or in two
processes at once: a second writer waits for the first's rows (PostgreSQL) or for its lock
(SQLite) and skips them.

- `milestone_due`: an active milestone of an `in_progress` project, not accepted, due within
  `REMINDER_DAYS` days (its date ends within them, China time): both parties' staff.
- `milestone_overdue`: such a milestone whose date has passed: both parties and the bureau.
- `signature_awaited`: a project in `signing` (the notice period ended, nothing pending): the
  staff of each party that has not signed (the bureau's users for the bureau).
"""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app import db
from app.models import (
    MilestoneStatus,
    Notification,
    NotificationKind,
    Party,
    Project,
    ProjectMilestone,
    ProjectSignature,
    ProjectStatus,
    Role,
    User,
)
from app.models.project import local_today

REMINDER_DAYS = 7
K = NotificationKind


@dataclass(frozen=True)
class _Reminder:
    kind: NotificationKind
    object_type: str
    object_id: int
    message: str
    organizations: tuple[int, ...]
    bureau: bool

    @property
    def key(self) -> str:
        return f"{self.kind.value}:{self.object_type}:{self.object_id}"


def write_reminders(session: Session) -> Counter[NotificationKind]:
    """Write the reminders not written yet; how many of each kind this call wrote."""
    reminders = [*_milestone_reminders(session), *_signature_reminders(session)]
    staff = _staff(session, {o for r in reminders for o in r.organizations})
    bureau = staff.pop(None, [])
    now = db.utcnow()
    rows: list[dict[str, Any]] = []
    for reminder in reminders:
        users = {u for o in reminder.organizations for u in staff.get(o, [])}
        if reminder.bureau:
            users.update(bureau)
        rows += [
            {
                "user_id": user_id,
                "kind": reminder.kind,
                "object_type": reminder.object_type,
                "object_id": reminder.object_id,
                "message": reminder.message,
                "created_at": now,
                "reminder_key": reminder.key,
            }
            for user_id in users
        ]
    # One order for every writer, so two concurrent runs wait for each other, not deadlock.
    rows.sort(key=lambda row: (row["user_id"], row["reminder_key"]))
    written: Counter[NotificationKind] = Counter()
    if rows:
        for kind in session.scalars(_insert_new(session), rows):
            written[kind] += 1
    return written


def _insert_new(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(Notification)
        .on_conflict_do_nothing(index_elements=["user_id", "reminder_key"])
        .returning(Notification.kind)
    )


def _staff(session: Session, organizations: set[int]) -> dict[int | None, list[int]]:
    """Active non-expert users of each organisation; the bureau's users under None."""
    found: dict[int | None, list[int]] = defaultdict(list)
    stmt = select(User.id, User.organization_id, User.role).where(
        User.is_active,
        (User.organization_id.in_(organizations) & (User.role != Role.expert))
        | (User.role == Role.bureau),
    )
    for user_id, organization_id, role in session.execute(stmt):
        if organization_id in organizations and role is not Role.expert:
            found[organization_id].append(user_id)
        if role is Role.bureau:
            found[None].append(user_id)
    return found


def _milestone_reminders(session: Session) -> list[_Reminder]:
    today = local_today()
    # The last date whose end (midnight after it, China time) is within REMINDER_DAYS.
    last_day = (db.utcnow() + timedelta(days=REMINDER_DAYS)).astimezone(db.CHINA).date()
    last_day -= timedelta(days=1)
    rows = session.execute(
        select(ProjectMilestone, Project)
        .join(Project, Project.id == ProjectMilestone.project_id)
        .where(
            Project.status == ProjectStatus.in_progress,
            ProjectMilestone.active,
            ProjectMilestone.status != MilestoneStatus.accepted,
            ProjectMilestone.due_date <= last_day,
        )
        .order_by(ProjectMilestone.id)
    )
    found = []
    for milestone, project in rows:
        parties = (project.owner_organization_id, project.performer_organization_id)
        name = f"项目“{project.title}”的里程碑“{milestone.title}”"
        due = milestone.due_date.isoformat()
        if milestone.due_date < today:
            message, kind, bureau = f"{name}已逾期（应于 {due} 完成）", K.milestone_overdue, True
        else:
            message, kind, bureau = f"{name}将于 {due} 到期", K.milestone_due, False
        found.append(_Reminder(kind, "milestone", milestone.id, message, parties, bureau))
    return found


def _signature_reminders(session: Session) -> list[_Reminder]:
    projects = session.scalars(
        select(Project).where(Project.current_status_is(ProjectStatus.signing)).order_by(Project.id)
    ).all()
    signed: dict[int, set[Party]] = defaultdict(set)
    if projects:
        signatures = select(ProjectSignature.project_id, ProjectSignature.party).where(
            ProjectSignature.project_id.in_([p.id for p in projects])
        )
        for project_id, party in session.execute(signatures):
            signed[project_id].add(party)
    found = []
    for project in projects:
        awaited = [p for p in Party if p not in signed[project.id]]
        if not awaited:
            continue
        organizations = tuple(
            organization
            for party, organization in (
                (Party.enterprise, project.owner_organization_id),
                (Party.performer, project.performer_organization_id),
            )
            if party in awaited
        )
        names = "、".join(p.label for p in awaited)
        message = f"项目“{project.title}”公示期已满，任务书待{names}签署"
        found.append(
            _Reminder(
                K.signature_awaited,
                "project",
                project.id,
                message,
                organizations,
                Party.bureau in awaited,
            )
        )
    return found
