"""Capabilities (科研能力) and results (科技成果): the same routes over two resources."""

from fastapi import APIRouter, Response, status

from app.deps import (
    CurrentUser,
    IdFilter,
    ObjectId,
    OptionalUser,
    Paging,
    SearchQuery,
    SessionDep,
)
from app.errors import error_responses
from app.models import Capability, Result
from app.schemas.offering import (
    CapabilityCreate,
    CapabilityPage,
    CapabilityRead,
    CapabilityUpdate,
    ResultCreate,
    ResultPage,
    ResultRead,
    ResultUpdate,
)
from app.services import offerings

capabilities = APIRouter(prefix="/capabilities", tags=["capabilities"])
results = APIRouter(prefix="/results", tags=["results"])

WRITE_ERRORS = error_responses(401, 403, 404, 422)


@capabilities.post(
    "", status_code=status.HTTP_201_CREATED, summary="发布科研能力", responses=WRITE_ERRORS
)
def create_capability(
    session: SessionDep, user: CurrentUser, body: CapabilityCreate
) -> CapabilityRead:
    """A verified university or institute publishes a capability (team, expertise)."""
    item = offerings.create_offering(session, Capability, owner=user, data=body)
    return CapabilityRead.model_validate(item)


@capabilities.get("", summary="科研能力列表", responses=error_responses(401, 422))
def list_capabilities(
    session: SessionDep,
    viewer: OptionalUser,
    paging: Paging,
    organization_id: IdFilter = None,
    q: SearchQuery = None,
) -> CapabilityPage:
    """Capabilities of verified organisations, newest first."""
    stmt = offerings.offerings_query(Capability, viewer, organization_id=organization_id, q=q)
    return paging.page(session, stmt, CapabilityPage, q=q)


@capabilities.get(
    "/{capability_id}", summary="科研能力详情", responses=error_responses(401, 404, 422)
)
def get_capability(
    session: SessionDep, viewer: OptionalUser, capability_id: ObjectId
) -> CapabilityRead:
    """One capability."""
    item = offerings.get_offering(session, Capability, viewer, capability_id)
    return CapabilityRead.model_validate(item)


@capabilities.patch("/{capability_id}", summary="修改科研能力", responses=WRITE_ERRORS)
def update_capability(
    session: SessionDep, user: CurrentUser, capability_id: ObjectId, body: CapabilityUpdate
) -> CapabilityRead:
    """The owning organisation edits its capability."""
    item = offerings.update_offering(
        session, Capability, user=user, offering_id=capability_id, data=body
    )
    return CapabilityRead.model_validate(item)


@capabilities.delete(
    "/{capability_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="删除科研能力",
    responses=error_responses(401, 403, 404, 422),
)
def delete_capability(session: SessionDep, user: CurrentUser, capability_id: ObjectId) -> Response:
    """The owning organisation deletes its capability."""
    offerings.delete_offering(session, Capability, user=user, offering_id=capability_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@results.post(
    "", status_code=status.HTTP_201_CREATED, summary="发布科技成果", responses=WRITE_ERRORS
)
def create_result(session: SessionDep, user: CurrentUser, body: ResultCreate) -> ResultRead:
    """A verified university or institute publishes a result (科技成果)."""
    item = offerings.create_offering(session, Result, owner=user, data=body)
    return ResultRead.model_validate(item)


@results.get("", summary="科技成果列表", responses=error_responses(401, 422))
def list_results(
    session: SessionDep,
    viewer: OptionalUser,
    paging: Paging,
    organization_id: IdFilter = None,
    q: SearchQuery = None,
) -> ResultPage:
    """Results of verified organisations, newest first."""
    stmt = offerings.offerings_query(Result, viewer, organization_id=organization_id, q=q)
    return paging.page(session, stmt, ResultPage, q=q)


@results.get("/{result_id}", summary="科技成果详情", responses=error_responses(401, 404, 422))
def get_result(session: SessionDep, viewer: OptionalUser, result_id: ObjectId) -> ResultRead:
    """One result."""
    return ResultRead.model_validate(offerings.get_offering(session, Result, viewer, result_id))


@results.patch("/{result_id}", summary="修改科技成果", responses=WRITE_ERRORS)
def update_result(
    session: SessionDep, user: CurrentUser, result_id: ObjectId, body: ResultUpdate
) -> ResultRead:
    """The owning organisation edits its result."""
    item = offerings.update_offering(session, Result, user=user, offering_id=result_id, data=body)
    return ResultRead.model_validate(item)


@results.delete(
    "/{result_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="删除科技成果",
    responses=error_responses(401, 403, 404, 422),
)
def delete_result(session: SessionDep, user: CurrentUser, result_id: ObjectId) -> Response:
    """The owning organisation deletes its result."""
    offerings.delete_offering(session, Result, user=user, offering_id=result_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
