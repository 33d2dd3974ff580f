"""Milestones while a project runs: deliverables submitted by the performer, judged by the owner.

The performer (the awarded university or institute) submits each milestone's deliverable;
the enterprise accepts it or rejects it with a reason. Both happen while the project is
`in_progress` or in `rectification` (fixing what acceptance found); once acceptance is
requested the work is under review and frozen, and an ended project changes no more.

A milestone's status is derived when read: `overdue` once its date has passed (China time)
unaccepted, while its project has not ended. An ended project (completed, failed,
terminated, revoked) shows each milestone's stored status: nothing is due any more, so
nothing is overdue, and no reminder or count of overdue work takes it in.

The plan itself changes only by a change request (app/services/change_requests.py).
"""

from collections.abc import Collection

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app import db
from app.errors import Conflict, InvalidTransition, NotFound
from app.models import (
    MilestoneStatus,
    NotificationKind,
    Party,
    Project,
    ProjectMilestone,
    ProjectStatus,
    User,
)
from app.services import audit
from app.services.project_flow import require_party, tell
from app.services.projects import get_project, lock_project

S = ProjectStatus
M = MilestoneStatus
DELIVERY_STATES = frozenset({S.in_progress, S.rectification})
SUBMITTABLE = frozenset({M.planned, M.rejected, M.overdue})

ACCEPTED = NotificationKind.deliverable_accepted
REJECTED = NotificationKind.deliverable_rejected

ShownMilestone = tuple[ProjectMilestone, MilestoneStatus]


def require_status(project: Project, allowed: Collection[ProjectStatus], verb: str) -> None:
    """The project is in one of `allowed` now, else 409 project_not_running."""
    current = project.current_status
    if current not in allowed:
        raise Conflict(f"项目当前状态为“{current.label}”，不能{verb}", code="project_not_running")


def milestones_query(project_id: int) -> Select[ProjectMilestone]:
    """The project's active milestones, in the plan's order."""
    return (
        select(ProjectMilestone)
        .where(ProjectMilestone.project_id == project_id, ProjectMilestone.active)
        .order_by(ProjectMilestone.position, ProjectMilestone.id)
    )


def list_milestones(session: Session, viewer: User, project_id: int) -> Project:
    """The project whose milestones the viewer may read (its parties and the bureau)."""
    return get_project(session, viewer, project_id)


def _milestone(session: Session, project: Project, milestone_id: int) -> ProjectMilestone:
    milestone = session.scalar(
        select(ProjectMilestone).where(
            ProjectMilestone.id == milestone_id, ProjectMilestone.project_id == project.id
        )
    )
    if milestone is None:
        raise NotFound("里程碑不存在", code="milestone_not_found")
    if not milestone.active:
        raise InvalidTransition("该里程碑已被变更后的计划替换", code="invalid_transition")
    return milestone


def _decide(
    session: Session,
    *,
    user: User,
    project_id: int,
    milestone_id: int,
    party: Party,
    verb: str,
) -> tuple[Project, ProjectMilestone, MilestoneStatus]:
    """The locked project and its milestone, checked for the party and the project's state."""
    project = lock_project(session, user, project_id)
    require_party(user, project, party)
    require_status(project, DELIVERY_STATES, verb)
    milestone = _milestone(session, project, milestone_id)
    return project, milestone, milestone.current_status


def _audit(
    session: Session,
    user: User,
    milestone: ProjectMilestone,
    action: str,
    before: MilestoneStatus,
    after: MilestoneStatus,
    reason: str | None = None,
) -> None:
    audit.record(
        session,
        actor=user,
        action=f"milestone.{action}",
        object_type="milestone",
        object_id=milestone.id,
        before={"status": before.value, "project_id": milestone.project_id},
        after={"status": after.value, "project_id": milestone.project_id},
        reason=reason,
    )


def submit_milestone(
    session: Session, *, user: User, project_id: int, milestone_id: int, deliverable: str
) -> ShownMilestone:
    """The performer submits a deliverable (planned, rejected or overdue) → `submitted`."""
    project, milestone, before = _decide(
        session,
        user=user,
        project_id=project_id,
        milestone_id=milestone_id,
        party=Party.performer,
        verb="提交成果",
    )
    if before not in SUBMITTABLE:
        raise InvalidTransition(f"里程碑当前状态为“{before.label}”，不能提交成果")
    milestone.status = M.submitted
    milestone.deliverable = deliverable
    milestone.submitted_at = db.utcnow()
    milestone.reason = None
    session.flush()
    after = milestone.current_status
    _audit(session, user, milestone, "submit", before, after)
    tell(
        session,
        project,
        kind=NotificationKind.deliverable_submitted,
        message=f"项目“{project.title}”的里程碑“{milestone.title}”已提交成果，请确认",
        parties={Party.enterprise},
        actor=user,
    )
    return milestone, after


def _judge(
    session: Session,
    *,
    user: User,
    project_id: int,
    milestone_id: int,
    accept: bool,
    reason: str | None,
) -> ShownMilestone:
    verb = "确认成果" if accept else "退回成果"
    project, milestone, before = _decide(
        session,
        user=user,
        project_id=project_id,
        milestone_id=milestone_id,
        party=Party.enterprise,
        verb=verb,
    )
    if milestone.status is not M.submitted:
        raise InvalidTransition(f"里程碑当前状态为“{before.label}”，没有待确认的成果")
    milestone.status = M.accepted if accept else M.rejected
    milestone.decided_at = db.utcnow()
    milestone.reason = reason
    session.flush()
    after = milestone.current_status
    _audit(session, user, milestone, "accept" if accept else "reject", before, after, reason)
    outcome = "已确认" if accept else f"被退回，理由：{reason}"
    tell(
        session,
        project,
        kind=ACCEPTED if accept else REJECTED,
        message=f"项目“{project.title}”的里程碑“{milestone.title}”成果{outcome}",
        parties={Party.performer},
        actor=user,
    )
    return milestone, after


def accept_milestone(
    session: Session, *, user: User, project_id: int, milestone_id: int
) -> ShownMilestone:
    """The enterprise accepts a submitted deliverable → `accepted`."""
    return _judge(
        session,
        user=user,
        project_id=project_id,
        milestone_id=milestone_id,
        accept=True,
        reason=None,
    )


def reject_milestone(
    session: Session, *, user: User, project_id: int, milestone_id: int, reason: str
) -> ShownMilestone:
    """The enterprise rejects a submitted deliverable with a reason → `rejected`."""
    return _judge(
        session,
        user=user,
        project_id=project_id,
        milestone_id=milestone_id,
        accept=False,
        reason=reason,
    )
