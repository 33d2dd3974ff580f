from typing import Annotated

from fastapi import APIRouter, Body, Response, status

from app.deps import CurrentUser, ObjectId, OptionalUser, Paging, SessionDep
from app.errors import error_responses
from app.models import BidReview
from app.schemas.bid import BidRead
from app.schemas.review import (
    BidReviews,
    CriteriaList,
    Criterion,
    RankedBid,
    Ranking,
    ReviewCreate,
    ReviewerCreate,
    ReviewerPage,
    ReviewerRead,
    ReviewRead,
    as_float,
)
from app.services import experts, reviews
from app.services.pagination import paginate

router = APIRouter(tags=["reviews"])


@router.post(
    "/challenges/{challenge_id}/reviewers",
    status_code=status.HTTP_201_CREATED,
    summary="指派评审专家",
    responses=error_responses(401, 403, 404, 409, 422),
)
def assign_reviewer(
    session: SessionDep, user: CurrentUser, challenge_id: ObjectId, body: ReviewerCreate
) -> ReviewerRead:
    """The bureau assigns an expert; 409 `conflict_of_interest` for the owner's or a bidder's."""
    assignment = experts.assign_reviewer(
        session, staff=user, challenge_id=challenge_id, expert_id=body.expert_id
    )
    return ReviewerRead.of(assignment)


@router.get(
    "/challenges/{challenge_id}/reviewers",
    summary="榜单的评审专家",
    responses=error_responses(401, 403, 404, 422),
)
def list_reviewers(
    session: SessionDep, user: CurrentUser, challenge_id: ObjectId, paging: Paging
) -> ReviewerPage:
    """The challenge's experts, recused ones included: for the bureau and the owner."""
    stmt = experts.reviewers_query(session, user, challenge_id)
    items, total = paginate(session, stmt, limit=paging.limit, offset=paging.offset)
    return ReviewerPage(
        items=[ReviewerRead.of(a) for a in items],
        total=total,
        limit=paging.limit,
        offset=paging.offset,
    )


@router.delete(
    "/challenges/{challenge_id}/reviewers/{expert_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="移除评审专家",
    responses=error_responses(401, 403, 404, 409, 422),
)
def remove_reviewer(
    session: SessionDep, user: CurrentUser, challenge_id: ObjectId, expert_id: ObjectId
) -> Response:
    """The bureau takes an expert off the challenge, while they have reviewed nothing on it."""
    experts.remove_reviewer(session, staff=user, challenge_id=challenge_id, expert_id=expert_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put(
    "/challenges/{challenge_id}/criteria",
    summary="设置评审指标",
    responses=error_responses(401, 403, 404, 409, 422),
)
def set_criteria(
    session: SessionDep,
    user: CurrentUser,
    challenge_id: ObjectId,
    body: Annotated[CriteriaList, Body()],
) -> list[Criterion]:
    """The bureau sets the weighted criteria (1–20, unique names), until the first review."""
    stored = reviews.set_criteria(session, staff=user, challenge_id=challenge_id, criteria=body)
    return [Criterion.model_validate(c) for c in stored]


@router.get(
    "/challenges/{challenge_id}/criteria",
    summary="评审指标",
    responses=error_responses(401, 404, 422),
)
def get_criteria(
    session: SessionDep, viewer: OptionalUser, challenge_id: ObjectId
) -> list[Criterion]:
    """The challenge's weighted criteria: the bureau's, or the four defaults."""
    stored = reviews.get_criteria(session, viewer, challenge_id)
    return [Criterion.model_validate(c) for c in stored]


@router.post(
    "/bids/{bid_id}/reviews",
    status_code=status.HTTP_201_CREATED,
    summary="专家评审或声明回避",
    responses={
        200: {"model": ReviewerRead, "description": "声明回避：本专家的指派（`recused`）"},
        **error_responses(401, 403, 404, 409, 422),
    },
)
def create_review(
    session: SessionDep, user: CurrentUser, bid_id: ObjectId, body: ReviewCreate, response: Response
) -> ReviewRead | ReviewerRead:
    """An assigned expert scores every criterion (201, the review), or declares a conflict of
    interest with `{"conflict": true, "reason"}` and is recused from the challenge (200)."""
    outcome = reviews.submit_review(session, user=user, bid_id=bid_id, data=body)
    if isinstance(outcome, BidReview):
        return ReviewRead.of(outcome, counted=True)
    response.status_code = status.HTTP_200_OK
    return ReviewerRead.of(outcome)


@router.get(
    "/bids/{bid_id}/reviews",
    summary="申报的评审",
    responses=error_responses(401, 403, 404, 422),
)
def list_reviews(session: SessionDep, user: CurrentUser, bid_id: ObjectId) -> BidReviews:
    """All reviews and the weighted mean for the owner and the bureau; an expert sees them
    only once they have submitted their own review of this bid."""
    items, score = reviews.bid_reviews(session, user, bid_id)
    return BidReviews(
        items=[ReviewRead.of(r.review, counted=r.counted) for r in items],
        weighted_score=as_float(score),
    )


@router.get(
    "/challenges/{challenge_id}/ranking",
    summary="评审排名",
    responses=error_responses(401, 403, 404, 422),
)
def get_ranking(session: SessionDep, user: CurrentUser, challenge_id: ObjectId) -> Ranking:
    """The bids by weighted score, best first, unreviewed last, ties by bid id."""
    rows = reviews.ranking(session, user, challenge_id)
    return Ranking(
        items=[
            RankedBid(
                **BidRead.model_validate(bid).model_dump(),
                weighted_score=as_float(score),
                reviews=count,
            )
            for bid, score, count in rows
        ]
    )
