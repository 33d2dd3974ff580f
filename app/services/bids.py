"""Bids (揭榜申报): private offers on a challenge, from submission to award."""

from collections.abc import Iterable

from sqlalchemy import Select, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.errors import Conflict, Forbidden, InvalidInput, InvalidTransition, NotFound
from app.models import (
    LIVE_BID_STATUSES,
    Bid,
    BidStatus,
    Challenge,
    ChallengeStatus,
    NotificationKind,
    Role,
    User,
)
from app.schemas.bid import BidCreate
from app.services import audit, experts
from app.services.access import (
    is_bureau,
    require_not_banned,
    require_role,
    require_verified,
    same_organization,
)
from app.services.challenges import get_challenge, is_owner, store_deadline_close
from app.services.notifications import notify

B = BidStatus
OPEN_FOR_DECISIONS = frozenset({ChallengeStatus.published, ChallengeStatus.closed})
RESEARCH_ROLES = (Role.university, Role.institute)


def can_see(viewer: User | None, bid: Bid, challenge: Challenge, *, assigned: bool) -> bool:
    """The bidder, the challenge's owner, the bureau, and (`assigned`) its non-recused experts."""
    return (
        is_bureau(viewer)
        or same_organization(viewer, bid.organization_id)
        or is_owner(viewer, challenge)
        or assigned
    )


def create_bid(session: Session, *, user: User, challenge_id: int, data: BidCreate) -> Bid:
    """A verified university or institute bids on a published challenge before its deadline."""
    require_role(user, *RESEARCH_ROLES)
    require_verified(user)
    require_not_banned(user)
    challenge = get_challenge(session, user, challenge_id, for_update=True)
    if challenge.current_status is not ChallengeStatus.published:
        raise InvalidTransition("该榜单不在揭榜期内", code="bidding_closed")
    duplicate = select(Bid.id).where(
        Bid.challenge_id == challenge.id,
        Bid.organization_id == user.organization_id,
        Bid.status.in_(LIVE_BID_STATUSES),
    )
    if session.scalar(duplicate) is not None:
        raise Conflict("本单位已对该榜单提交申报", code="duplicate_bid")
    _require_promises(challenge, data)
    bid = Bid(
        **data.model_dump(mode="python", exclude={"milestones", "indicators"}),
        milestones=[m.model_dump(mode="json") for m in data.milestones],
        indicators=[i.model_dump(mode="json") for i in data.indicators],
        challenge_id=challenge.id,
        organization_id=user.organization_id,
        created_by_id=user.id,
        status=B.submitted,
    )
    try:
        with session.begin_nested():
            add_bid(session, challenge=challenge, bid=bid)
    except IntegrityError as exc:  # a concurrent request from the same organisation won
        raise Conflict("本单位已对该榜单提交申报", code="duplicate_bid") from exc
    _audit(session, user, bid, "submit", None)
    notify(
        session,
        kind=NotificationKind.bid_received,
        object_type="bid",
        object_id=bid.id,
        message=f"榜单“{challenge.title}”收到一份新的揭榜申报",
        actor=user,
        organizations=[challenge.organization_id],
    )
    # Experts of this organisation assigned to the challenge now have a conflict of interest.
    experts.recuse_conflicted(
        session, actor=user, challenge_id=challenge.id, organization_id=bid.organization_id
    )
    return bid


def add_bid(session: Session, *, challenge: Challenge, bid: Bid) -> None:
    """Store a new bid on `challenge` (locked by the caller), counted on the challenge.

    The bid takes the challenge's sector and county, and the challenge's bid count goes up by
    one in this transaction.
    """
    bid.sector, bid.region = challenge.sector, challenge.region
    session.add(bid)
    session.flush()
    # In SQL, not from the loaded value: exact even if the caller's copy were stale. The
    # challenge's updated_at is kept: receiving a bid does not edit it.
    session.execute(
        update(Challenge)
        .where(Challenge.id == challenge.id)
        .values(bid_count=Challenge.bid_count + 1, updated_at=Challenge.updated_at)
    )


def _require_promises(challenge: Challenge, data: BidCreate) -> None:
    """A bid promises a value for each of the challenge's indicators, and for no other."""
    wanted = [str(indicator["name"]) for indicator in challenge.indicators]
    given = [indicator.name for indicator in data.indicators]
    unknown = [name for name in given if name not in wanted]
    missing = [name for name in wanted if name not in given]
    if not (unknown or missing):
        return
    parts = []
    if missing:
        parts.append(f"缺少指标的承诺值：{'、'.join(missing)}")
    if unknown:
        parts.append(f"榜单没有这些指标：{'、'.join(unknown)}")
    raise InvalidInput(
        "；".join(parts),
        loc=["body", "indicators"],
        code="unknown_indicators" if unknown else "missing_indicators",
    )


def bids_query(session: Session, viewer: User, challenge_id: int) -> Select[Bid]:
    """The bids on a challenge: all of them for its owner, the bureau and its assigned experts,
    else the viewer's own."""
    challenge = get_challenge(session, viewer, challenge_id)
    stmt = select(Bid).where(Bid.challenge_id == challenge.id)
    if not (
        is_bureau(viewer)
        or is_owner(viewer, challenge)
        or experts.is_assigned(session, viewer, challenge.id)
    ):
        if viewer.role not in RESEARCH_ROLES:
            raise Forbidden("只有发榜单位、科技局和揭榜单位可以查看申报", code="role_not_allowed")
        stmt = stmt.where(Bid.organization_id == viewer.organization_id)
    return stmt.order_by(Bid.id)


def get_bid(
    session: Session, viewer: User, bid_id: int, *, for_update: bool = False
) -> tuple[Bid, Challenge]:
    """A bid the viewer may read, with its challenge; 404 for everyone else.

    A read writes nothing; with `for_update` (a write) the challenge is locked and a close by
    its deadline stored first, as `get_challenge` does.
    """
    bid = session.get(Bid, bid_id)
    challenge = (
        session.get(
            Challenge, bid.challenge_id, with_for_update=for_update, populate_existing=for_update
        )
        if bid
        else None
    )
    if (
        bid is None
        or challenge is None
        or not can_see(
            viewer, bid, challenge, assigned=experts.is_assigned(session, viewer, challenge.id)
        )
    ):
        raise NotFound("申报不存在", code="bid_not_found")
    if for_update:  # the challenge row is locked first, then the bid: one order everywhere
        session.refresh(bid, with_for_update=True)
        store_deadline_close(session, challenge)
    return bid, challenge


def withdraw_bid(session: Session, *, user: User, bid_id: int) -> Bid:
    """The bidder takes its bid back before the award."""
    bid, _ = get_bid(session, user, bid_id, for_update=True)
    if not (same_organization(user, bid.organization_id) and user.role in RESEARCH_ROLES):
        raise Forbidden("只有申报单位可以撤回申报", code="not_bidder")
    return move_bid(
        session, user, bid, "withdraw", {B.submitted, B.shortlisted, B.nominated}, B.withdrawn
    )


def shortlist_bid(session: Session, *, user: User, bid_id: int) -> Bid:
    """The challenge owner shortlists a submitted bid."""
    bid, challenge = _owner_decision(session, user, bid_id)
    move_bid(session, user, bid, "shortlist", {B.submitted}, B.shortlisted)
    tell_bidder(
        session,
        user,
        bid,
        NotificationKind.bid_shortlisted,
        f"您对榜单“{challenge.title}”的申报已入围",
    )
    return bid


def reject_bid(session: Session, *, user: User, bid_id: int, reason: str) -> Bid:
    """The challenge owner turns a bid down."""
    bid, challenge = _owner_decision(session, user, bid_id)
    allowed = {B.submitted, B.shortlisted, B.nominated}
    move_bid(session, user, bid, "reject", allowed, B.rejected, reason or None)
    because = f"，理由：{reason}" if reason else ""
    message = f"您对榜单“{challenge.title}”的申报未被采纳{because}"
    tell_bidder(session, user, bid, NotificationKind.bid_rejected, message)
    return bid


def nominate_bid(session: Session, *, user: User, bid_id: int) -> Bid:
    """The challenge owner proposes one bid to the bureau for the award."""
    bid, challenge = _owner_decision(session, user, bid_id)
    chosen = select(Bid.id).where(
        Bid.challenge_id == challenge.id, Bid.status.in_([B.nominated, B.awarded])
    )
    if bid.status in {B.submitted, B.shortlisted} and session.scalar(chosen) is not None:
        raise Conflict("该榜单已有提名的申报", code="already_nominated")
    move_bid(session, user, bid, "nominate", {B.submitted, B.shortlisted}, B.nominated)
    tell_bidder(
        session,
        user,
        bid,
        NotificationKind.bid_nominated,
        f"您对榜单“{challenge.title}”的申报已被发榜单位提名，待科技局审批授榜",
    )
    notify(
        session,
        kind=NotificationKind.bid_nominated,
        object_type="bid",
        object_id=bid.id,
        message=f"榜单“{challenge.title}”的发榜单位已提名一份申报，请审批授榜",
        actor=user,
        bureau=True,
    )
    return bid


def _owner_decision(session: Session, user: User, bid_id: int) -> tuple[Bid, Challenge]:
    bid, challenge = get_bid(session, user, bid_id, for_update=True)
    if not is_owner(user, challenge):
        raise Forbidden("只有发榜单位可以评选申报", code="not_challenge_owner")
    require_verified(user)
    if challenge.status not in OPEN_FOR_DECISIONS:
        raise InvalidTransition(
            f"榜单当前状态为“{challenge.status.label}”，不能评选申报", code="challenge_not_open"
        )
    return bid, challenge


def tell_bidder(
    session: Session, actor: User, bid: Bid, kind: NotificationKind, message: str
) -> None:
    """The bidder's staff hear of the owner's decision on their bid."""
    notify(
        session,
        kind=kind,
        object_type="bid",
        object_id=bid.id,
        message=message,
        actor=actor,
        organizations=[bid.organization_id],
    )


def move_bid(
    session: Session,
    actor: User,
    bid: Bid,
    action: str,
    allowed: Iterable[BidStatus],
    to: BidStatus,
    reason: str | None = None,
) -> Bid:
    if bid.status not in allowed:
        verb = _VERBS.get(action, action)
        raise InvalidTransition(f"申报当前状态为“{bid.status.label}”，不能{verb}")
    before = bid.status
    bid.status = to
    bid.status_reason = reason
    session.flush()
    _audit(session, actor, bid, action, before, reason)
    return bid


def _audit(
    session: Session,
    actor: User,
    bid: Bid,
    action: str,
    before: BidStatus | None,
    reason: str | None = None,
) -> None:
    audit.record_transition(
        session,
        actor=actor,
        object_type="bid",
        object_id=bid.id,
        action=action,
        before=before.value if before else None,
        after=bid.status.value,
        reason=reason,
    )


# The actions' Chinese names, for the details people read.
_VERBS = {
    "withdraw": "撤回",
    "shortlist": "入围",
    "reject": "不予采纳",
    "nominate": "提名",
    "award": "授榜",
    "revoke_award": "撤销授榜",
    "restore": "恢复",
}
