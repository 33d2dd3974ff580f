"""The mid-term check (中期检查): the bureau's outcome on a project that is `in_progress`.

`pass` and `rectify` keep the project running and store the outcome (a `rectify` with the
date it must be fixed by, after today in China); `terminate` ends the project through the
state table (`project_flow.move`), the comment being the reason. A later check replaces the
stored outcome (the audit trail keeps every one). The parties hear of each outcome
(`midterm_recorded`); a termination also tells them as every termination does.
"""

from datetime import date

from sqlalchemy.orm import Session

from app import db
from app.errors import InvalidInput
from app.models import NotificationKind, Party, Project, ProjectStatus, User
from app.models.project import local_today
from app.schemas.midterm import MidtermCreate, MidtermOutcome
from app.services import audit
from app.services.milestones import require_status
from app.services.project_flow import move, require_party, tell
from app.services.projects import lock_project


def _check_rectify_by(data: MidtermCreate) -> date | None:
    loc = ["body", "rectify_by"]
    if data.outcome is not MidtermOutcome.rectify:
        if data.rectify_by is not None:
            raise InvalidInput("只有限期整改（rectify）需要整改期限", loc=loc)
        return None
    if data.rectify_by is None:
        raise InvalidInput("限期整改须给出整改期限（rectify_by）", loc=loc)
    if data.rectify_by <= local_today():
        raise InvalidInput("整改期限须晚于今天", loc=loc)
    return data.rectify_by


def record_midterm(
    session: Session, *, user: User, project_id: int, data: MidtermCreate
) -> Project:
    """The bureau records the mid-term outcome; `terminate` ends the project."""
    project = lock_project(session, user, project_id)
    require_party(user, project, Party.bureau)
    require_status(project, {ProjectStatus.in_progress}, "进行中期检查")
    rectify_by = _check_rectify_by(data)
    before = {
        "status": project.status.value,
        "midterm_outcome": project.midterm_outcome,
        "midterm_rectify_by": project.midterm_rectify_by.isoformat()
        if project.midterm_rectify_by
        else None,
    }
    project.midterm_outcome = data.outcome.value
    project.midterm_comment = data.comment
    project.midterm_rectify_by = rectify_by
    project.midterm_at = db.utcnow()
    if data.outcome is MidtermOutcome.terminate:
        move(session, project, "terminate", actor=user, reason=data.comment)
    session.flush()
    audit.record(
        session,
        actor=user,
        action="project.midterm",
        object_type="project",
        object_id=project.id,
        before=before,
        after={
            "status": project.status.value,
            "midterm_outcome": data.outcome.value,
            "midterm_rectify_by": rectify_by.isoformat() if rectify_by else None,
        },
        reason=data.comment,
    )
    until = f"，须于 {rectify_by.isoformat()} 前完成整改" if rectify_by else ""
    tell(
        session,
        project,
        kind=NotificationKind.midterm_recorded,
        message=f"项目“{project.title}”中期检查结论：{data.outcome.label}{until}",
        parties={Party.enterprise, Party.performer},
        actor=user,
    )
    return project
