from fastapi import APIRouter, status

from app.deps import CurrentUser, ObjectId, Paging, SessionDep
from app.errors import error_responses
from app.schemas.common import ReasonBody
from app.schemas.milestone import (
    ChangeRequestCreate,
    ChangeRequestPage,
    ChangeRequestRead,
    DeliverableBody,
    MilestonePage,
    MilestoneRead,
)
from app.services import change_requests, milestones
from app.services.pagination import paginate

router = APIRouter(tags=["projects"])

ACTION_ERRORS = error_responses(401, 403, 404, 409, 422)
MILESTONE = "/projects/{project_id}/milestones/{milestone_id}"


@router.get(
    "/projects/{project_id}/milestones",
    summary="项目里程碑",
    responses=error_responses(401, 404, 422),
)
def list_milestones(
    session: SessionDep, user: CurrentUser, project_id: ObjectId, paging: Paging
) -> MilestonePage:
    """The project's active milestones in the plan's order, each with its current status."""
    project = milestones.list_milestones(session, user, project_id)
    items, total = paginate(
        session, milestones.milestones_query(project.id), limit=paging.limit, offset=paging.offset
    )
    return MilestonePage(
        items=[MilestoneRead.of(m, m.current_status) for m in items],
        total=total,
        limit=paging.limit,
        offset=paging.offset,
    )


@router.post(f"{MILESTONE}/submit", summary="提交里程碑成果", responses=ACTION_ERRORS)
def submit_milestone(
    session: SessionDep,
    user: CurrentUser,
    project_id: ObjectId,
    milestone_id: ObjectId,
    body: DeliverableBody,
) -> MilestoneRead:
    """The university or institute submits the milestone's deliverable: → `submitted`."""
    shown = milestones.submit_milestone(
        session,
        user=user,
        project_id=project_id,
        milestone_id=milestone_id,
        deliverable=body.deliverable,
    )
    return MilestoneRead.of(*shown)


@router.post(f"{MILESTONE}/accept", summary="确认里程碑成果", responses=ACTION_ERRORS)
def accept_milestone(
    session: SessionDep, user: CurrentUser, project_id: ObjectId, milestone_id: ObjectId
) -> MilestoneRead:
    """The enterprise accepts the submitted deliverable: → `accepted`."""
    shown = milestones.accept_milestone(
        session, user=user, project_id=project_id, milestone_id=milestone_id
    )
    return MilestoneRead.of(*shown)


@router.post(f"{MILESTONE}/reject", summary="退回里程碑成果", responses=ACTION_ERRORS)
def reject_milestone(
    session: SessionDep,
    user: CurrentUser,
    project_id: ObjectId,
    milestone_id: ObjectId,
    body: ReasonBody,
) -> MilestoneRead:
    """The enterprise rejects the submitted deliverable with a reason: → `rejected`."""
    shown = milestones.reject_milestone(
        session, user=user, project_id=project_id, milestone_id=milestone_id, reason=body.reason
    )
    return MilestoneRead.of(*shown)


@router.post(
    "/projects/{project_id}/change-requests",
    status_code=status.HTTP_201_CREATED,
    summary="申请变更里程碑计划",
    responses=ACTION_ERRORS,
)
def create_change_request(
    session: SessionDep, user: CurrentUser, project_id: ObjectId, body: ChangeRequestCreate
) -> ChangeRequestRead:
    """The enterprise or the performer proposes a new milestone plan; one pending at a time."""
    request = change_requests.propose_change(
        session, user=user, project_id=project_id, milestones=body.milestones, reason=body.reason
    )
    return ChangeRequestRead.model_validate(request)


@router.get(
    "/projects/{project_id}/change-requests",
    summary="里程碑变更申请列表",
    responses=error_responses(401, 404, 422),
)
def list_change_requests(
    session: SessionDep, user: CurrentUser, project_id: ObjectId, paging: Paging
) -> ChangeRequestPage:
    """The project's change requests, newest first, for its parties and the bureau."""
    stmt = change_requests.change_requests_query(session, user, project_id)
    return paging.page(session, stmt, ChangeRequestPage)


@router.post(
    "/change-requests/{change_request_id}/accept",
    summary="同意变更里程碑计划",
    responses=ACTION_ERRORS,
)
def accept_change_request(
    session: SessionDep, user: CurrentUser, change_request_id: ObjectId
) -> ChangeRequestRead:
    """The other party accepts: the proposed milestones replace those not yet accepted."""
    request = change_requests.accept_change(session, user=user, change_request_id=change_request_id)
    return ChangeRequestRead.model_validate(request)


@router.post(
    "/change-requests/{change_request_id}/decline",
    summary="拒绝变更里程碑计划",
    responses=ACTION_ERRORS,
)
def decline_change_request(
    session: SessionDep, user: CurrentUser, change_request_id: ObjectId, body: ReasonBody
) -> ChangeRequestRead:
    """The other party declines with a reason; the plan stays as it is."""
    request = change_requests.decline_change(
        session, user=user, change_request_id=change_request_id, reason=body.reason
    )
    return ChangeRequestRead.model_validate(request)
