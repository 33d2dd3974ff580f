"""Challenges (榜单): who sees them, who edits them, and their life cycle."""

from collections.abc import Iterable

from sqlalchemy import ScalarSelect, Select, or_, select
from sqlalchemy.orm import Session, with_expression

from app import db
from app.errors import Forbidden, InvalidTransition, NotFound
from app.models import (
    LIVE_BID_STATUSES,
    PUBLIC_CHALLENGE_STATUSES,
    Bid,
    BidStatus,
    Challenge,
    ChallengeStatus,
    NotificationKind,
    Project,
    ProjectStatus,
    Role,
    Sector,
    User,
)
from app.models.challenge import DEADLINE_PASSED
from app.schemas.challenge import ChallengeCreate, ChallengeUpdate
from app.services import audit
from app.services.access import (
    is_bureau,
    require_party_verified,
    require_role,
    require_verified,
    same_organization,
)
from app.services.notifications import notify
from app.services.search import text_contains

S = ChallengeStatus
EDITABLE = frozenset({S.draft, S.returned})
CANCELLABLE = frozenset({S.draft, S.pending_review, S.returned, S.published, S.closed})
BIDS_OF_CANCELLED = "榜单已被科技局取消"


def can_see(viewer: User | None, challenge: Challenge) -> bool:
    return (
        challenge.status in PUBLIC_CHALLENGE_STATUSES
        or is_bureau(viewer)
        or same_organization(viewer, challenge.organization_id)
    )


def is_owner(user: User | None, challenge: Challenge) -> bool:
    return (
        user is not None
        and user.role is Role.enterprise
        and user.organization_id == challenge.organization_id
    )


def get_challenge(
    session: Session, viewer: User | None, challenge_id: int, *, for_update: bool = False
) -> Challenge:
    """A challenge the viewer may see, else 404 (drafts of others do not exist for them).

    A read writes nothing: its `current_status` says whether the deadline has closed it. With
    `for_update` (a write) the row is locked and a close by the deadline is stored first.
    """
    challenge = session.get(
        Challenge, challenge_id, with_for_update=for_update, populate_existing=for_update
    )
    if challenge is None or not can_see(viewer, challenge):
        raise NotFound("榜单不存在", code="challenge_not_found")
    if for_update:
        store_deadline_close(session, challenge)
    return challenge


def _live_project_id() -> ScalarSelect[int]:
    # At most one: the partial unique index allows one project per challenge that is not revoked.
    return (
        select(Project.id)
        .where(Project.challenge_id == Challenge.id, Project.status != ProjectStatus.revoked)
        .correlate(Challenge)
        .scalar_subquery()
    )


def read_challenge(session: Session, viewer: User | None, challenge_id: int) -> Challenge:
    """A challenge the viewer may see, with the id of its live project, else 404. A read."""
    challenge = session.scalar(
        select(Challenge)
        .where(Challenge.id == challenge_id)
        .options(with_expression(Challenge.project_id, _live_project_id()))
        .execution_options(populate_existing=True)
    )
    if challenge is None or not can_see(viewer, challenge):
        raise NotFound("榜单不存在", code="challenge_not_found")
    return challenge


def challenges_query(
    viewer: User | None,
    *,
    status: ChallengeStatus | None = None,
    sector: Sector | None = None,
    region: str | None = None,
    q: str | None = None,
    organization_id: int | None = None,
) -> Select[Challenge]:
    """The challenges the viewer may see, filtered, newest first, each with its live project."""
    stmt = select(Challenge).options(with_expression(Challenge.project_id, _live_project_id()))
    if not is_bureau(viewer):
        public = Challenge.status.in_(PUBLIC_CHALLENGE_STATUSES)
        own = Challenge.organization_id == viewer.organization_id if viewer else None
        stmt = stmt.where(or_(public, own) if own is not None else public)
    if status is not None:
        stmt = stmt.where(Challenge.current_status_is(status))
    if sector is not None:
        stmt = stmt.where(Challenge.sector == sector)
    if region is not None:
        stmt = stmt.where(Challenge.region == region)
    if organization_id is not None:
        stmt = stmt.where(Challenge.organization_id == organization_id)
    if q:
        stmt = stmt.where(text_contains(Challenge.title, Challenge.description, q))
    return stmt.order_by(Challenge.id.desc())


def create_challenge(session: Session, *, owner: User, data: ChallengeCreate) -> Challenge:
    """A verified enterprise drafts a challenge."""
    require_role(owner, Role.enterprise)
    require_verified(owner)
    return add_draft(session, organization_id=owner.organization_id, creator=owner, data=data)


def add_draft(
    session: Session,
    *,
    organization_id: int,
    creator: User,
    data: ChallengeCreate,
    reason: str | None = None,
) -> Challenge:
    """A new draft of the organisation's, audited as created by `creator` (checks: the caller's).

    The owner creating its own, or the bureau importing one for a verified enterprise; the
    flush writes its match document too, so it is matchable like any other.
    """
    challenge = Challenge(
        **data.model_dump(mode="python", exclude={"indicators"}),
        indicators=[i.model_dump() for i in data.indicators],
        organization_id=organization_id,
        created_by_id=creator.id,
        status=S.draft,
    )
    session.add(challenge)
    session.flush()
    audit.record_transition(
        session,
        actor=creator,
        object_type="challenge",
        object_id=challenge.id,
        action="create",
        before=None,
        after=S.draft.value,
        reason=reason,
    )
    return challenge


def update_challenge(
    session: Session, *, user: User, challenge_id: int, data: ChallengeUpdate
) -> Challenge:
    """The owner edits a draft or a returned challenge."""
    challenge = get_challenge(session, user, challenge_id, for_update=True)
    _require_owner(user, challenge)
    require_verified(user)
    _require_status(challenge, EDITABLE, "编辑")
    changes = data.model_dump(mode="python", exclude_unset=True)
    if data.indicators is not None:
        changes["indicators"] = [i.model_dump() for i in data.indicators]
    for field, value in changes.items():
        setattr(challenge, field, value)
    session.flush()
    audit.record(
        session,
        actor=user,
        action="challenge.update",
        object_type="challenge",
        object_id=challenge.id,
        after={"fields": sorted(changes)},
    )
    return challenge


def submit(session: Session, *, user: User, challenge_id: int) -> Challenge:
    """The owner sends a draft (or a returned challenge) to the bureau for review."""
    challenge = get_challenge(session, user, challenge_id, for_update=True)
    _require_owner(user, challenge)
    require_verified(user)
    _move(session, user, challenge, "submit", EDITABLE, S.pending_review)
    notify(
        session,
        kind=NotificationKind.challenge_submitted,
        object_type="challenge",
        object_id=challenge.id,
        message=f"榜单“{challenge.title}”已提交审核，请审核",
        actor=user,
        bureau=True,
    )
    return challenge


def approve(session: Session, *, staff: User, challenge_id: int) -> Challenge:
    """The bureau publishes a challenge under review."""
    challenge = get_challenge(session, staff, challenge_id, for_update=True)
    require_role(staff, Role.bureau)
    _require_status(challenge, {S.pending_review}, "发布")
    require_party_verified(
        session,
        challenge.organization_id,
        code="owner_not_verified",
        detail="发榜单位未通过科技局审核或已被驳回，不能发布其榜单",
    )
    if challenge.past_deadline:
        raise InvalidTransition("揭榜截止时间已过，请退回企业修改", code="deadline_passed")
    challenge.published_at = db.utcnow()
    _move(session, staff, challenge, "approve", {S.pending_review}, S.published)
    notify(
        session,
        kind=NotificationKind.challenge_published,
        object_type="challenge",
        object_id=challenge.id,
        message=f"榜单“{challenge.title}”已通过审核并发布",
        actor=staff,
        organizations=[challenge.organization_id],
    )
    return challenge


def return_to_owner(session: Session, *, staff: User, challenge_id: int, reason: str) -> Challenge:
    """The bureau sends a challenge under review back to its owner, with a reason."""
    challenge = get_challenge(session, staff, challenge_id, for_update=True)
    require_role(staff, Role.bureau)
    _move(session, staff, challenge, "return", {S.pending_review}, S.returned, reason)
    notify(
        session,
        kind=NotificationKind.challenge_returned,
        object_type="challenge",
        object_id=challenge.id,
        message=f"榜单“{challenge.title}”被科技局退回修改，理由：{reason}",
        actor=staff,
        organizations=[challenge.organization_id],
    )
    return challenge


def close(session: Session, *, user: User, challenge_id: int) -> Challenge:
    """The owner or the bureau ends bidding on a published challenge."""
    challenge = get_challenge(session, user, challenge_id, for_update=True)
    if not (is_owner(user, challenge) or is_bureau(user)):
        raise Forbidden("只有发榜单位或科技局可以截止揭榜", code="not_challenge_owner")
    return _move(session, user, challenge, "close", {S.published}, S.closed)


def withdraw(session: Session, *, user: User, challenge_id: int) -> Challenge:
    """The owner takes back a published challenge nobody has bid on."""
    challenge = get_challenge(session, user, challenge_id, for_update=True)
    _require_owner(user, challenge)
    _require_status(challenge, {S.published}, "撤回")
    if session.scalar(
        select(Bid.id).where(Bid.challenge_id == challenge.id, Bid.status.in_(LIVE_BID_STATUSES))
    ):
        raise InvalidTransition("已有揭榜申报，不能撤回", code="challenge_has_bids")
    return _move(session, user, challenge, "withdraw", {S.published}, S.withdrawn)


def cancel(session: Session, *, staff: User, challenge_id: int, reason: str) -> Challenge:
    """The bureau cancels a challenge before it is awarded; its live bids are rejected."""
    challenge = get_challenge(session, staff, challenge_id, for_update=True)
    require_role(staff, Role.bureau)
    _require_status(challenge, CANCELLABLE, "取消")
    live = session.scalars(
        select(Bid).where(Bid.challenge_id == challenge.id, Bid.status.in_(LIVE_BID_STATUSES))
    ).all()
    for bid in live:
        _reject_bid(session, staff, bid, BIDS_OF_CANCELLED)
        notify(
            session,
            kind=NotificationKind.bid_rejected,
            object_type="bid",
            object_id=bid.id,
            message=f"您对榜单“{challenge.title}”的申报未被采纳：{BIDS_OF_CANCELLED}",
            actor=staff,
            organizations=[bid.organization_id],
        )
    return _move(session, staff, challenge, "cancel", CANCELLABLE, S.cancelled, reason)


def store_deadline_close(session: Session, challenge: Challenge) -> bool:
    """Store that the deadline has closed this locked challenge, audited as the system.

    Only for a row locked by this transaction (or under SQLite's write lock): two writers
    cannot both see it published, so the close is stored and audited once.
    """
    if challenge.current_status is challenge.status:
        return False
    _move(session, None, challenge, "close", {S.published}, S.closed, DEADLINE_PASSED)
    return True


def close_expired(session: Session) -> list[int]:
    """Store the close of every published challenge past its deadline; the ids closed.

    Idempotent, and safe in two processes at once: the rows are locked in id order and their
    status read again under the lock (SQLite: the transaction holds the write lock).
    """
    expired = (
        select(Challenge)
        .where(Challenge.status == S.published, Challenge.deadline <= db.utcnow())
        .order_by(Challenge.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return [c.id for c in session.scalars(expired).all() if store_deadline_close(session, c)]


def _reject_bid(session: Session, actor: User, bid: Bid, reason: str) -> None:
    before = bid.status
    bid.status = BidStatus.rejected
    bid.status_reason = reason
    audit.record_transition(
        session,
        actor=actor,
        object_type="bid",
        object_id=bid.id,
        action="reject",
        before=before.value,
        after=bid.status.value,
        reason=reason,
    )


def _require_owner(user: User, challenge: Challenge) -> None:
    if not is_owner(user, challenge):
        raise Forbidden("只有发榜单位可以执行此操作", code="not_challenge_owner")


def _require_status(challenge: Challenge, allowed: Iterable[ChallengeStatus], verb: str) -> None:
    if challenge.status not in allowed:
        raise InvalidTransition(f"榜单当前状态为“{challenge.status.label}”，不能{verb}")


def _move(
    session: Session,
    actor: User | None,  # None: the system (the deadline)
    challenge: Challenge,
    action: str,
    allowed: Iterable[ChallengeStatus],
    to: ChallengeStatus,
    reason: str | None = None,
) -> Challenge:
    _require_status(challenge, allowed, _VERBS.get(action, action))
    before = challenge.status
    challenge.status = to
    challenge.status_reason = reason
    session.flush()
    audit.record_transition(
        session,
        actor=actor,
        object_type="challenge",
        object_id=challenge.id,
        action=action,
        before=before.value,
        after=to.value,
        reason=reason,
    )
    return challenge


_VERBS = {
    "submit": "提交审核",
    "approve": "发布",
    "return": "退回",
    "close": "截止",
    "withdraw": "撤回",
    "cancel": "取消",
}
