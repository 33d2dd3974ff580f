from fastapi import APIRouter, status

from app.deps import CurrentUser, ObjectId, Paging, SessionDep
from app.errors import error_responses
from app.schemas.bid import AwardRead, BidCreate, BidPage, BidRead, BidRejectBody
from app.schemas.project import AwardBody
from app.services import awards, bids

router = APIRouter(tags=["bids"])

ACTION_ERRORS = error_responses(401, 403, 404, 409, 422)


@router.post(
    "/challenges/{challenge_id}/bids",
    status_code=status.HTTP_201_CREATED,
    summary="揭榜申报",
    responses=error_responses(401, 403, 404, 409, 422),
)
def create_bid(
    session: SessionDep, user: CurrentUser, challenge_id: ObjectId, body: BidCreate
) -> BidRead:
    """A verified university or institute bids on a published challenge before its deadline."""
    bid = bids.create_bid(session, user=user, challenge_id=challenge_id, data=body)
    return BidRead.model_validate(bid)


@router.get(
    "/challenges/{challenge_id}/bids",
    summary="榜单的申报列表",
    responses=error_responses(401, 403, 404, 422),
)
def list_bids(
    session: SessionDep, user: CurrentUser, challenge_id: ObjectId, paging: Paging
) -> BidPage:
    """All bids for the challenge's owner and the bureau; a bidder sees only its own."""
    stmt = bids.bids_query(session, user, challenge_id)
    return paging.page(session, stmt, BidPage)


@router.get("/bids/{bid_id}", summary="申报详情", responses=error_responses(401, 404, 422))
def get_bid(session: SessionDep, user: CurrentUser, bid_id: ObjectId) -> BidRead:
    """One bid: for the bidder, the challenge's owner and the bureau."""
    bid, _ = bids.get_bid(session, user, bid_id)
    return BidRead.model_validate(bid)


@router.post("/bids/{bid_id}/withdraw", summary="撤回申报", responses=ACTION_ERRORS)
def withdraw_bid(session: SessionDep, user: CurrentUser, bid_id: ObjectId) -> BidRead:
    """The bidder withdraws its bid: → `withdrawn`."""
    return BidRead.model_validate(bids.withdraw_bid(session, user=user, bid_id=bid_id))


@router.post("/bids/{bid_id}/shortlist", summary="入围", responses=ACTION_ERRORS)
def shortlist_bid(session: SessionDep, user: CurrentUser, bid_id: ObjectId) -> BidRead:
    """The challenge's owner shortlists a submitted bid: → `shortlisted`."""
    return BidRead.model_validate(bids.shortlist_bid(session, user=user, bid_id=bid_id))


@router.post(
    "/bids/{bid_id}/reject",
    summary="不予采纳",
    responses=error_responses(401, 403, 404, 409, 422),
)
def reject_bid(
    session: SessionDep, user: CurrentUser, bid_id: ObjectId, body: BidRejectBody | None = None
) -> BidRead:
    """The challenge's owner turns a bid down, optionally with a reason: → `rejected`."""
    reason = body.reason if body else ""
    return BidRead.model_validate(bids.reject_bid(session, user=user, bid_id=bid_id, reason=reason))


@router.post("/bids/{bid_id}/nominate", summary="提名揭榜单位", responses=ACTION_ERRORS)
def nominate_bid(session: SessionDep, user: CurrentUser, bid_id: ObjectId) -> BidRead:
    """The challenge's owner nominates one bid for the award: → `nominated`."""
    return BidRead.model_validate(bids.nominate_bid(session, user=user, bid_id=bid_id))


@router.post("/bids/{bid_id}/award", summary="批准授榜", responses=ACTION_ERRORS)
def award_bid(
    session: SessionDep, user: CurrentUser, bid_id: ObjectId, body: AwardBody | None = None
) -> AwardRead:
    """The bureau approves the nominated bid; the challenge is awarded and a project created.

    The optional body sets the government's share of the budget (default 0, at most the bid's
    budget: else 422 `funding_over_budget`) and IP ownership. The project starts its public
    notice. Exactly one award per challenge, also under concurrent calls; the response has
    `project_id`.
    """
    bid, project = awards.award_bid(session, staff=user, bid_id=bid_id, terms=body)
    return AwardRead.model_validate(
        {**BidRead.model_validate(bid).model_dump(), "project_id": project.id}
    )
