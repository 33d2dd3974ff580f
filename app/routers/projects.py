from fastapi import APIRouter

from app.deps import CurrentUser, ObjectId, Paging, SessionDep
from app.errors import error_responses
from app.models import ProjectStatus
from app.schemas.project import ProjectPage, ProjectRead
from app.services import agreement, projects

router = APIRouter(prefix="/projects", tags=["projects"])


@router.get("", summary="项目列表", responses=error_responses(401, 422))
def list_projects(
    session: SessionDep, user: CurrentUser, paging: Paging, status: ProjectStatus | None = None
) -> ProjectPage:
    """Projects the user's organisation is party to; the bureau sees all. Newest first."""
    stmt = projects.projects_query(user, status=status)
    return paging.page(session, stmt, ProjectPage)


@router.get("/{project_id}", summary="项目详情", responses=error_responses(401, 404, 422))
def get_project(session: SessionDep, user: CurrentUser, project_id: ObjectId) -> ProjectRead:
    """One project, for its two parties and the bureau: the agreement and its progress."""
    return ProjectRead.model_validate(projects.get_project(session, user, project_id))


@router.post(
    "/{project_id}/sign",
    summary="签署任务书",
    responses=error_responses(401, 403, 404, 409, 422),
)
def sign_project(session: SessionDep, user: CurrentUser, project_id: ObjectId) -> ProjectRead:
    """The enterprise, the university or institute and the bureau each sign once.

    Only while the project is `signing`; the third signature starts it (`in_progress`).
    """
    agreement.sign_project(session, user=user, project_id=project_id)
    return ProjectRead.model_validate(projects.get_project(session, user, project_id))
