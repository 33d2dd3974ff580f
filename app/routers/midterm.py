from fastapi import APIRouter

from app.deps import CurrentUser, ObjectId, SessionDep
from app.errors import error_responses
from app.schemas.midterm import MidtermCreate
from app.schemas.project import ProjectRead
from app.services import midterm

router = APIRouter(tags=["projects"])


@router.post(
    "/projects/{project_id}/midterm",
    summary="中期检查",
    responses=error_responses(401, 403, 404, 409, 422),
)
def record_midterm(
    session: SessionDep, user: CurrentUser, project_id: ObjectId, body: MidtermCreate
) -> ProjectRead:
    """The bureau records the mid-term check: `pass`, `rectify` (with a date) or `terminate`."""
    project = midterm.record_midterm(session, user=user, project_id=project_id, data=body)
    return ProjectRead.model_validate(project)
