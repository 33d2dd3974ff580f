"""The task agreement (任务书): three signatures, then the project starts (立项).

The enterprise (the challenge's owner), the university or institute (the performer) and the
bureau each sign once, while the project is `signing`. The unique (project, party) constraint
is the guard when one party signs twice at once; the project's row lock orders the three, so
the third signature, and only it, starts the project.
"""

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import db
from app.errors import Conflict, InvalidTransition
from app.models import NotificationKind, Party, Project, ProjectSignature, ProjectStatus, User
from app.services import audit
from app.services.project_flow import ALL_PARTIES, move, require_party, tell
from app.services.projects import lock_project


def sign_project(session: Session, *, user: User, project_id: int) -> Project:
    """One party signs the agreement; the third signature starts the project."""
    project = lock_project(session, user, project_id)
    party = require_party(user, project, *ALL_PARTIES)
    if project.status is not ProjectStatus.signing:
        raise InvalidTransition(
            f"项目当前状态为“{project.current_status.label}”，不能签署任务书",
            code="not_signing",
        )
    signed = signed_parties(session, project)
    if party in signed:
        raise _already_signed(party)
    signature = ProjectSignature(
        project_id=project.id, party=party, user_id=user.id, signed_at=db.utcnow()
    )
    session.add(signature)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:  # the same party signed in a concurrent request
        raise _already_signed(party) from exc
    signed.add(party)
    audit.record(
        session,
        actor=user,
        action="project.sign",
        object_type="project",
        object_id=project.id,
        after={"party": party.value, "signed": sorted(p.value for p in signed)},
    )
    waiting = set(ALL_PARTIES) - signed
    if waiting:
        tell(
            session,
            project,
            kind=NotificationKind.signature_awaited,
            message=f"项目“{project.title}”的任务书已由{party.label}签署，等待您签署",
            parties=waiting,
            actor=user,
        )
        return project
    project.started_at = db.utcnow()
    return move(session, project, "start", actor=user, reason="任务书三方签署完毕")


def signed_parties(session: Session, project: Project) -> set[Party]:
    """The parties whose signature the project has."""
    stmt = select(ProjectSignature.party).where(ProjectSignature.project_id == project.id)
    return set(session.scalars(stmt))


def _already_signed(party: Party) -> Conflict:
    return Conflict(f"{party.label}已签署该任务书", code="already_signed")
