"""Objections (异议) to an award during its public notice (公示), and the bureau's decisions.

An awarded challenge is public, so any signed-in user may object to its live project while the
notice runs, under their own name. Each objection open holds the project in `publicity` past
the end of the period (`Project.open_objections`, changed only under the project's row lock).
The bureau resolves each one: `dismissed`, or `upheld`, which revokes the award in the same
transaction. When an award is revoked, the project's other pending objections have nothing
left to object to: they are closed as `dismissed` with a resolution that says so, and their
filers told, so no objection stays pending on a revoked project.
"""

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, joinedload

from app import db
from app.errors import InvalidTransition, NotFound
from app.models import (
    Bid,
    NotificationKind,
    Objection,
    ObjectionStatus,
    Project,
    ProjectStatus,
    Role,
    User,
)
from app.schemas.project import ObjectionCreate, ObjectionResolve
from app.services import audit, awards
from app.services.access import is_bureau, require_role
from app.services.notifications import notify
from app.services.project_flow import ALL_PARTIES, move, store_publicity_end, tell

MOOT = "授榜已因其他异议成立而撤销，本异议无需再处理"


def _lock_live_project(session: Session, project_id: int) -> Project:
    """The live project, locked, with an ended notice stored; 404 for an unknown or revoked one.

    Not `projects.lock_project`: that one is for the parties, and anyone may object.
    """
    project = session.get(Project, project_id, with_for_update=True, populate_existing=True)
    if project is None or project.status is ProjectStatus.revoked:
        raise NotFound("项目不存在", code="project_not_found")
    store_publicity_end(session, project)
    return project


def file_objection(
    session: Session, *, user: User, project_id: int, data: ObjectionCreate
) -> Objection:
    """A signed-in user objects to an award while its notice runs, under their own name."""
    project = _lock_live_project(session, project_id)
    if project.status is not ProjectStatus.publicity:
        raise InvalidTransition(
            f"公示期已结束（项目当前状态为“{project.current_status.label}”），不能再提出异议",
            code="publicity_ended",
        )
    objection = Objection(
        project_id=project.id, filed_by_id=user.id, reason=data.reason, evidence=data.evidence
    )
    objection.filed_by = user
    session.add(objection)
    project.open_objections += 1
    session.flush()
    audit.record_transition(
        session,
        actor=user,
        object_type="objection",
        object_id=objection.id,
        action="file",
        before=None,
        after=objection.status.value,
    )
    # The parties hear that there is an objection, not who filed it.
    tell(
        session,
        project,
        kind=NotificationKind.objection_filed,
        message=f"项目“{project.title}”在公示期内收到一项异议，待科技局处理",
        parties=set(ALL_PARTIES),
        actor=user,
    )
    return objection


def objections_query(session: Session, viewer: User, project_id: int) -> Select[Objection]:
    """The objections to a project: all of them for the bureau, else those the viewer filed.

    A filer keeps reading theirs after the award was revoked; an unknown project is a 404.
    """
    if session.get(Project, project_id) is None:
        raise NotFound("项目不存在", code="project_not_found")
    stmt = (
        select(Objection)
        .where(Objection.project_id == project_id)
        .options(joinedload(Objection.filed_by))
    )
    if not is_bureau(viewer):
        stmt = stmt.where(Objection.filed_by_id == viewer.id)
    return stmt.order_by(Objection.id)


def resolve_objection(
    session: Session, *, staff: User, objection_id: int, data: ObjectionResolve
) -> Objection:
    """The bureau decides an objection; `upheld` revokes the award in the same transaction."""
    require_role(staff, Role.bureau)
    found = session.get(Objection, objection_id)
    if found is None:
        raise NotFound("异议不存在", code="objection_not_found")
    # One lock order everywhere: the project first, then what belongs to it.
    project = session.get(Project, found.project_id, with_for_update=True, populate_existing=True)
    assert project is not None  # a foreign key
    objection = session.scalars(
        select(Objection)
        .where(Objection.id == objection_id)
        .options(joinedload(Objection.filed_by))
        .with_for_update(of=Objection)
        .execution_options(populate_existing=True)
    ).one()
    if objection.status is not ObjectionStatus.pending:
        raise InvalidTransition(
            f"该异议已处理（{objection.status.label}），不能再次处理",
            code="objection_already_resolved",
        )
    outcome = ObjectionStatus(data.outcome)
    if outcome is ObjectionStatus.upheld:
        # Before the count goes down: while this objection is open the notice has not ended.
        move(session, project, "revoke", actor=staff, reason=data.reason)
        restored = awards.revoke_award(session, staff=staff, project=project, reason=data.reason)
    _close(session, staff, project, objection, outcome, data.reason)
    if outcome is ObjectionStatus.upheld:
        others = session.scalars(
            select(Objection)
            .where(Objection.project_id == project.id, Objection.status == ObjectionStatus.pending)
            .options(joinedload(Objection.filed_by))
            .order_by(Objection.id)
            .with_for_update(of=Objection)
            .execution_options(populate_existing=True)
        ).all()
        for other in others:
            _close(session, staff, project, other, ObjectionStatus.dismissed, MOOT)
        _tell_restored_bidders(session, staff, project, restored[1:])
    else:
        tell(
            session,
            project,
            kind=NotificationKind.objection_resolved,
            message=f"项目“{project.title}”的一项异议经科技局核查不成立",
            parties=set(ALL_PARTIES),
            actor=staff,
        )
        store_publicity_end(session, project)  # the last one open, after the period's end
    return objection


def _close(
    session: Session,
    staff: User,
    project: Project,
    objection: Objection,
    outcome: ObjectionStatus,
    reason: str,
) -> None:
    objection.status = outcome
    objection.resolution = reason
    objection.resolved_by_id = staff.id
    objection.resolved_at = db.utcnow()
    project.open_objections -= 1
    session.flush()
    audit.record_transition(
        session,
        actor=staff,
        object_type="objection",
        object_id=objection.id,
        action="resolve",
        before=ObjectionStatus.pending.value,
        after=outcome.value,
        reason=reason,
    )
    notify(
        session,
        kind=NotificationKind.objection_resolved,
        object_type="objection",
        object_id=objection.id,
        message=f"您对项目“{project.title}”提出的异议已处理：{outcome.label}。{reason}",
        actor=staff,
        users=[objection.filed_by_id],
    )


def _tell_restored_bidders(
    session: Session, staff: User, project: Project, restored: list[Bid]
) -> None:
    for bid in restored:
        notify(
            session,
            kind=NotificationKind.award_revoked,
            object_type="bid",
            object_id=bid.id,
            message=f"榜单“{project.title}”的授榜已撤销，您的申报恢复为“{bid.status.label}”",
            actor=staff,
            organizations=[bid.organization_id],
        )
