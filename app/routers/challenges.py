from typing import Annotated

from fastapi import APIRouter, Query, status

from app.deps import CurrentUser, IdFilter, ObjectId, OptionalUser, Paging, SearchQuery, SessionDep
from app.errors import error_responses
from app.models import ChallengeStatus, Sector
from app.schemas.challenge import ChallengeCreate, ChallengePage, ChallengeRead, ChallengeUpdate
from app.schemas.common import ReasonBody, Region
from app.services import challenges

router = APIRouter(prefix="/challenges", tags=["challenges"])

ACTION_ERRORS = error_responses(401, 403, 404, 409, 422)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="新建榜单（草稿）",
    responses=error_responses(401, 403, 422),
)
def create_challenge(
    session: SessionDep, user: CurrentUser, body: ChallengeCreate
) -> ChallengeRead:
    """A verified enterprise drafts a challenge; it is public only after the bureau approves it."""
    challenge = challenges.create_challenge(session, owner=user, data=body)
    return ChallengeRead.model_validate(challenge)


@router.get("", summary="榜单列表", responses=error_responses(401, 422))
def list_challenges(
    session: SessionDep,
    viewer: OptionalUser,
    paging: Paging,
    status: ChallengeStatus | None = None,
    sector: Sector | None = None,
    region: Annotated[Region | None, Query(description="行政区划代码")] = None,
    q: SearchQuery = None,
    organization_id: IdFilter = None,
) -> ChallengePage:
    """Published challenges, plus the viewer's own; the bureau sees all. Newest first."""
    stmt = challenges.challenges_query(
        viewer,
        status=status,
        sector=sector,
        region=region,
        q=q,
        organization_id=organization_id,
    )
    return paging.page(session, stmt, ChallengePage, q=q)


@router.get("/{challenge_id}", summary="榜单详情", responses=error_responses(401, 404, 422))
def get_challenge(
    session: SessionDep, viewer: OptionalUser, challenge_id: ObjectId
) -> ChallengeRead:
    """One challenge the viewer may see; `project_id` names its live project once awarded."""
    return ChallengeRead.model_validate(challenges.read_challenge(session, viewer, challenge_id))


@router.patch(
    "/{challenge_id}",
    summary="修改榜单",
    responses=error_responses(401, 403, 404, 409, 422),
)
def update_challenge(
    session: SessionDep, user: CurrentUser, challenge_id: ObjectId, body: ChallengeUpdate
) -> ChallengeRead:
    """The owner edits a draft or returned challenge; status and ownership cannot be set."""
    challenge = challenges.update_challenge(
        session, user=user, challenge_id=challenge_id, data=body
    )
    return ChallengeRead.model_validate(challenge)


@router.post("/{challenge_id}/submit", summary="提交审核", responses=ACTION_ERRORS)
def submit_challenge(
    session: SessionDep, user: CurrentUser, challenge_id: ObjectId
) -> ChallengeRead:
    """The owner sends a draft or returned challenge for review: → `pending_review`."""
    return ChallengeRead.model_validate(
        challenges.submit(session, user=user, challenge_id=challenge_id)
    )


@router.post("/{challenge_id}/approve", summary="审核通过并发布", responses=ACTION_ERRORS)
def approve_challenge(
    session: SessionDep, staff: CurrentUser, challenge_id: ObjectId
) -> ChallengeRead:
    """The bureau publishes a challenge under review: → `published`."""
    return ChallengeRead.model_validate(
        challenges.approve(session, staff=staff, challenge_id=challenge_id)
    )


@router.post(
    "/{challenge_id}/return",
    summary="退回修改",
    responses=error_responses(401, 403, 404, 409, 422),
)
def return_challenge(
    session: SessionDep, staff: CurrentUser, challenge_id: ObjectId, body: ReasonBody
) -> ChallengeRead:
    """The bureau sends a challenge under review back to its owner with a reason: → `returned`."""
    return ChallengeRead.model_validate(
        challenges.return_to_owner(
            session, staff=staff, challenge_id=challenge_id, reason=body.reason
        )
    )


@router.post("/{challenge_id}/close", summary="截止揭榜", responses=ACTION_ERRORS)
def close_challenge(
    session: SessionDep, user: CurrentUser, challenge_id: ObjectId
) -> ChallengeRead:
    """The owner or the bureau ends bidding: `published` → `closed`."""
    return ChallengeRead.model_validate(
        challenges.close(session, user=user, challenge_id=challenge_id)
    )


@router.post("/{challenge_id}/withdraw", summary="撤回榜单", responses=ACTION_ERRORS)
def withdraw_challenge(
    session: SessionDep, user: CurrentUser, challenge_id: ObjectId
) -> ChallengeRead:
    """The owner withdraws a published challenge that has no live bids: → `withdrawn`."""
    return ChallengeRead.model_validate(
        challenges.withdraw(session, user=user, challenge_id=challenge_id)
    )


@router.post(
    "/{challenge_id}/cancel",
    summary="取消榜单",
    responses=error_responses(401, 403, 404, 409, 422),
)
def cancel_challenge(
    session: SessionDep, staff: CurrentUser, challenge_id: ObjectId, body: ReasonBody
) -> ChallengeRead:
    """The bureau cancels a challenge before it is awarded, with a reason: → `cancelled`."""
    return ChallengeRead.model_validate(
        challenges.cancel(session, staff=staff, challenge_id=challenge_id, reason=body.reason)
    )
