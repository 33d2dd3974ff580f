from fastapi import APIRouter, status

from app.deps import BureauStaff, CurrentUser, ObjectId, Paging, SessionDep
from app.errors import error_responses
from app.schemas.project import ObjectionCreate, ObjectionPage, ObjectionRead, ObjectionResolve
from app.services import objections

router = APIRouter(tags=["objections"])


@router.post(
    "/projects/{project_id}/objections",
    status_code=status.HTTP_201_CREATED,
    summary="对公示项目提出异议",
    responses=error_responses(401, 403, 404, 409, 422),
)
def create_objection(
    session: SessionDep, user: CurrentUser, project_id: ObjectId, body: ObjectionCreate
) -> ObjectionRead:
    """Any signed-in user objects to an award during its notice period, under their own name."""
    objection = objections.file_objection(session, user=user, project_id=project_id, data=body)
    return ObjectionRead.model_validate(objection)


@router.get(
    "/projects/{project_id}/objections",
    summary="项目的异议列表",
    responses=error_responses(401, 404, 422),
)
def list_objections(
    session: SessionDep, user: CurrentUser, project_id: ObjectId, paging: Paging
) -> ObjectionPage:
    """All objections to the project for the bureau; anyone else sees those they filed."""
    stmt = objections.objections_query(session, user, project_id)
    return paging.page(session, stmt, ObjectionPage)


@router.post(
    "/objections/{objection_id}/resolve",
    summary="处理异议",
    responses=error_responses(401, 403, 404, 409, 422),
)
def resolve_objection(
    session: SessionDep, staff: BureauStaff, objection_id: ObjectId, body: ObjectionResolve
) -> ObjectionRead:
    """The bureau dismisses an objection or upholds it; `upheld` revokes the award."""
    objection = objections.resolve_objection(
        session, staff=staff, objection_id=objection_id, data=body
    )
    return ObjectionRead.model_validate(objection)
