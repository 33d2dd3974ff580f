"""Change requests: one party proposes a new milestone plan, the other party decides.

Only while the project is `in_progress`, one pending request at a time (the project row's
lock orders concurrent proposals). Accepting keeps the accepted milestones as they are (first,
in their order) and puts the proposed ones after them: a proposal plans what is not yet
accepted. Every other active milestone becomes inactive (kept, with its deliverable, for the
record; disbursements tied to it keep pointing at it).
"""

from collections.abc import Sequence

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app import db
from app.errors import Conflict, Forbidden, InvalidInput, InvalidTransition, NotFound
from app.models import (
    ChangeRequest,
    ChangeRequestStatus,
    MilestoneStatus,
    NotificationKind,
    Party,
    Project,
    ProjectMilestone,
    ProjectStatus,
    User,
)
from app.models.project import local_today
from app.schemas.bid import Milestone
from app.services import audit
from app.services.milestones import milestones_query, require_status
from app.services.project_flow import require_party, tell
from app.services.projects import get_project, lock_project

S = ProjectStatus
M = MilestoneStatus


def propose_change(
    session: Session, *, user: User, project_id: int, milestones: Sequence[Milestone], reason: str
) -> ChangeRequest:
    """The enterprise or the performer proposes a new plan; one pending at a time."""
    project = lock_project(session, user, project_id)
    party = require_party(user, project, Party.enterprise, Party.performer)
    require_status(project, {S.in_progress}, "变更里程碑计划")
    today = local_today()
    for i, milestone in enumerate(milestones):
        if milestone.due_date < today:
            raise InvalidInput(
                "新计划的里程碑日期不能早于今天", loc=["body", "milestones", i, "due_date"]
            )
    pending = session.scalar(
        select(ChangeRequest.id).where(
            ChangeRequest.project_id == project.id,
            ChangeRequest.status == ChangeRequestStatus.pending,
        )
    )
    if pending is not None:
        raise Conflict(
            "该项目已有待确认的变更申请，请等对方处理后再提出", code="change_request_pending"
        )
    request = ChangeRequest(
        project_id=project.id,
        proposed_by_id=user.id,
        proposer=party,
        milestones=[m.model_dump(mode="json") for m in milestones],
        reason=reason,
    )
    session.add(request)
    session.flush()
    audit.record(
        session,
        actor=user,
        action="change_request.create",
        object_type="change_request",
        object_id=request.id,
        after={"status": request.status.value, "project_id": project.id},
        reason=reason,
    )
    other = Party.performer if party is Party.enterprise else Party.enterprise
    tell(
        session,
        project,
        kind=NotificationKind.change_requested,
        message=f"项目“{project.title}”：{party.label}申请变更里程碑计划，请确认",
        parties={other},
        actor=user,
    )
    return request


def change_requests_query(session: Session, viewer: User, project_id: int) -> Select[ChangeRequest]:
    """The project's change requests, newest first (its parties and the bureau)."""
    project = get_project(session, viewer, project_id)
    return (
        select(ChangeRequest)
        .where(ChangeRequest.project_id == project.id)
        .order_by(ChangeRequest.id.desc())
    )


def _deciding(
    session: Session, user: User, change_request_id: int, verb: str
) -> tuple[Project, ChangeRequest]:
    """The locked project and its pending request, for the party that did not propose it."""
    missing = NotFound("变更申请不存在", code="change_request_not_found")
    request = session.get(ChangeRequest, change_request_id)
    if request is None:
        raise missing
    try:
        project = lock_project(session, user, request.project_id)
    except NotFound:  # a project the user may not see: so is its change request
        raise missing from None
    session.refresh(request)  # as of the lock: another decision may have come first
    party = require_party(user, project, Party.enterprise, Party.performer)
    if party is request.proposer:
        raise Forbidden("变更申请须由另一方确认，提出方不能自己决定", code="own_change_request")
    require_status(project, {S.in_progress}, verb)
    if request.status is not ChangeRequestStatus.pending:
        raise InvalidTransition(f"变更申请当前状态为“{request.status.label}”，不能{verb}")
    return project, request


def _decided(
    session: Session,
    user: User,
    project: Project,
    request: ChangeRequest,
    status: ChangeRequestStatus,
    reason: str | None,
) -> None:
    accepted = status is ChangeRequestStatus.accepted
    request.status = status
    request.decided_by_id = user.id
    request.decided_at = db.utcnow()
    request.decision_reason = reason
    session.flush()
    audit.record_transition(
        session,
        actor=user,
        object_type="change_request",
        object_id=request.id,
        action="accept" if accepted else "decline",
        before=ChangeRequestStatus.pending.value,
        after=status.value,
        reason=reason,
    )
    outcome = "已同意，里程碑计划已更新" if accepted else f"被拒绝，理由：{reason}"
    tell(
        session,
        project,
        kind=NotificationKind.change_decided,
        message=f"项目“{project.title}”的里程碑变更申请{outcome}",
        parties={request.proposer},
        actor=user,
    )


def accept_change(session: Session, *, user: User, change_request_id: int) -> ChangeRequest:
    """The other party accepts: the accepted milestones stay, the proposed ones follow."""
    project, request = _deciding(session, user, change_request_id, "同意变更")
    current = session.scalars(milestones_query(project.id)).all()
    kept = [m for m in current if m.status is M.accepted]
    for milestone in current:
        if milestone.status is not M.accepted:
            milestone.active = False
    last = session.scalar(
        select(func.max(ProjectMilestone.position)).where(ProjectMilestone.project_id == project.id)
    )
    start = -1 if last is None else last
    added = [
        ProjectMilestone(
            project_id=project.id,
            position=start + 1 + i,
            title=item.title,
            due_date=item.due_date,
        )
        for i, item in enumerate(Milestone.model_validate(m) for m in request.milestones)
    ]
    session.add_all(added)
    session.flush()
    audit.record(
        session,
        actor=user,
        action="project.replan",
        object_type="project",
        object_id=project.id,
        before={"milestones": [m.id for m in current]},
        after={"milestones": [m.id for m in [*kept, *added]]},
        reason=request.reason,
    )
    _decided(session, user, project, request, ChangeRequestStatus.accepted, None)
    return request


def decline_change(
    session: Session, *, user: User, change_request_id: int, reason: str
) -> ChangeRequest:
    """The other party declines with a reason; the plan stays as it is."""
    project, request = _deciding(session, user, change_request_id, "拒绝变更")
    _decided(session, user, project, request, ChangeRequestStatus.declined, reason)
    return request
