"""The project's state machine: one table of transitions, and the one function that moves.

Every change of a project's status goes through `move`: it checks the table, stores the
status, audits before/after and notifies the parties the transition names, all in the
caller's transaction. Time moves one state by itself: a notice period that has ended with no
objection open makes `publicity` read as `signing` (`Project.current_status`); the first write
that locks the project stores it (`lock_project`), audited as the system.

| action | from | to | who |
| --- | --- | --- | --- |
| (time) | publicity | signing | nobody: the notice period ends |
| revoke | publicity | revoked | bureau, by upholding an objection |
| start | signing | in_progress | the third of the three signatures |
| request_acceptance | in_progress, rectification | acceptance_requested | performer |
| complete | acceptance_requested | completed | bureau: verdict `pass` |
| rectify | acceptance_requested | rectification | bureau: verdict `rectify` (once) |
| fail | acceptance_requested, rectification | failed | bureau: `fail` (rectification: lapsed) |
| terminate | any state that has not ended | terminated | bureau (or a mid-term `terminate`) |
"""

from dataclasses import dataclass

from sqlalchemy.orm import Session

from app import db
from app.errors import Forbidden, InvalidTransition
from app.models import (
    ENDED_PROJECT_STATUSES,
    NotificationKind,
    Party,
    Project,
    ProjectStatus,
    Role,
    User,
)
from app.services import audit
from app.services.notifications import notify

S = ProjectStatus
RESEARCH_ROLES = frozenset({Role.university, Role.institute})
NOTICE_ENDED = "公示期满，无异议"


@dataclass(frozen=True)
class Transition:
    sources: frozenset[ProjectStatus]
    target: ProjectStatus
    verb: str  # the action's Chinese name, for the details people read
    notification: NotificationKind
    told: frozenset[Party]  # who hears of it (never the actor)


def _t(
    sources: set[ProjectStatus],
    target: ProjectStatus,
    verb: str,
    notification: NotificationKind,
    *told: Party,
) -> Transition:
    return Transition(frozenset(sources), target, verb, notification, frozenset(told))


ALL_PARTIES = (Party.enterprise, Party.performer, Party.bureau)
TRANSITIONS: dict[str, Transition] = {
    "revoke": _t(
        {S.publicity}, S.revoked, "撤销授榜", NotificationKind.award_revoked, *ALL_PARTIES
    ),
    "start": _t({S.signing}, S.in_progress, "立项", NotificationKind.project_started, *ALL_PARTIES),
    "request_acceptance": _t(
        {S.in_progress, S.rectification},
        S.acceptance_requested,
        "申请验收",
        NotificationKind.acceptance_requested,
        Party.enterprise,
        Party.bureau,
    ),
    "complete": _t(
        {S.acceptance_requested},
        S.completed,
        "验收通过",
        NotificationKind.acceptance_decided,
        Party.enterprise,
        Party.performer,
    ),
    "rectify": _t(
        {S.acceptance_requested},
        S.rectification,
        "验收整改",
        NotificationKind.acceptance_decided,
        Party.enterprise,
        Party.performer,
    ),
    "fail": _t(
        {S.acceptance_requested, S.rectification},
        S.failed,
        "验收不通过",
        NotificationKind.acceptance_decided,
        Party.enterprise,
        Party.performer,
    ),
    "terminate": _t(
        {S.publicity, S.signing, S.in_progress, S.acceptance_requested, S.rectification},
        S.terminated,
        "终止项目",
        NotificationKind.project_terminated,
        *ALL_PARTIES,
    ),
}


def move(
    session: Session, project: Project, action: str, *, actor: User, reason: str | None = None
) -> Project:
    """Make the transition `action` on a locked project: status, audit, notifications."""
    transition = TRANSITIONS[action]
    before = project.current_status
    if before not in transition.sources:
        raise InvalidTransition(
            f"项目当前状态为“{before.label}”，不能{transition.verb}",
            code="invalid_project_transition",
        )
    project.status = transition.target
    project.status_reason = reason
    if transition.target in ENDED_PROJECT_STATUSES:
        project.ended_at = db.utcnow()
    session.flush()
    audit.record_transition(
        session,
        actor=actor,
        object_type="project",
        object_id=project.id,
        action=action,
        before=before.value,
        after=project.status.value,
        reason=reason,
    )
    tell(
        session,
        project,
        kind=transition.notification,
        message=f"项目“{project.title}”：{transition.verb}，当前状态为“{project.status.label}”",
        parties=transition.told,
        actor=actor,
    )
    return project


def tell(
    session: Session,
    project: Project,
    *,
    kind: NotificationKind,
    message: str,
    parties: frozenset[Party] | set[Party],
    actor: User | None,
) -> None:
    """Notify the staff of the named parties of a project."""
    organizations = []
    if Party.enterprise in parties:
        organizations.append(project.owner_organization_id)
    if Party.performer in parties:
        organizations.append(project.performer_organization_id)
    notify(
        session,
        kind=kind,
        object_type="project",
        object_id=project.id,
        message=message,
        actor=actor,
        organizations=organizations,
        bureau=Party.bureau in parties,
    )


def store_publicity_end(session: Session, project: Project) -> None:
    """Store `signing` once the notice period has ended (the project is locked)."""
    if project.status is S.publicity and project.current_status is S.signing:
        project.status = S.signing
        session.flush()
        audit.record_transition(
            session,
            actor=None,
            object_type="project",
            object_id=project.id,
            action="publicity_end",
            before=S.publicity.value,
            after=S.signing.value,
            reason=NOTICE_ENDED,
        )


def party_of(user: User, project: Project) -> Party | None:
    """Which signatory of the agreement the user acts for, if any."""
    if user.role is Role.bureau:
        return Party.bureau
    if user.role is Role.enterprise and user.organization_id == project.owner_organization_id:
        return Party.enterprise
    if user.role in RESEARCH_ROLES and user.organization_id == project.performer_organization_id:
        return Party.performer
    return None


def require_party(user: User, project: Project, *parties: Party) -> Party:
    """The user acts for one of `parties` on this project, else 403."""
    party = party_of(user, project)
    if party not in parties:
        names = "、".join(p.label for p in parties)
        raise Forbidden(f"只有{names}可以执行此操作", code="not_project_party")
    return party
