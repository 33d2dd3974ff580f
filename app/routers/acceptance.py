"""Acceptance (验收) and termination: the routes that end a project."""

from fastapi import APIRouter

from app.deps import CurrentUser, ObjectId, SessionDep
from app.errors import error_responses
from app.schemas.acceptance import AcceptanceVerdict, TerminateBody
from app.schemas.project import ProjectRead
from app.services import acceptance

router = APIRouter(prefix="/projects", tags=["projects"])

ACTION_ERRORS = error_responses(401, 403, 404, 409, 422)


@router.post("/{project_id}/acceptance-request", summary="申请验收", responses=ACTION_ERRORS)
def request_acceptance(session: SessionDep, user: CurrentUser, project_id: ObjectId) -> ProjectRead:
    """The university or institute asks for acceptance: → `acceptance_requested`."""
    project = acceptance.request_acceptance(session, user=user, project_id=project_id)
    return ProjectRead.model_validate(project)


@router.post("/{project_id}/acceptance", summary="验收结论", responses=ACTION_ERRORS)
def decide_acceptance(
    session: SessionDep, staff: CurrentUser, project_id: ObjectId, body: AcceptanceVerdict
) -> ProjectRead:
    """The bureau records every indicator and its verdict: `pass`, `rectify` (once) or `fail`."""
    project = acceptance.decide_acceptance(session, staff=staff, project_id=project_id, data=body)
    return ProjectRead.model_validate(project)


@router.post("/{project_id}/terminate", summary="终止项目", responses=ACTION_ERRORS)
def terminate_project(
    session: SessionDep, staff: CurrentUser, project_id: ObjectId, body: TerminateBody
) -> ProjectRead:
    """The bureau ends a project that has not ended, with a reason: → `terminated`."""
    project = acceptance.terminate(session, staff=staff, project_id=project_id, reason=body.reason)
    return ProjectRead.model_validate(project)
