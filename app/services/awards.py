"""The award (授榜) and its undoing: the bureau approves a nominated bid and a project begins;
an upheld objection gives everything back."""

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import db
from app.config import get_settings
from app.errors import InvalidInput, InvalidTransition
from app.models import (
    LIVE_BID_STATUSES,
    Bid,
    BidStatus,
    Challenge,
    ChallengeStatus,
    NotificationKind,
    Project,
    ProjectMilestone,
    ProjectStatus,
    Role,
    User,
)
from app.schemas.project import AwardBody
from app.services import audit
from app.services.access import require_party_verified, require_role
from app.services.bids import OPEN_FOR_DECISIONS, get_bid, move_bid, tell_bidder
from app.services.calendar import working_days_end
from app.services.notifications import notify

B = BidStatus
REJECTED_BY_AWARD = "榜单已授予其他单位"
AWARD_REVOKED = "异议成立，授榜已撤销"


def award_bid(
    session: Session, *, staff: User, bid_id: int, terms: AwardBody | None = None
) -> tuple[Bid, Project]:
    """The bureau approves the nominated bid: the challenge is awarded and a project begins.

    The project copies what the task agreement fixes: the challenge's title and indicators with
    the bid's promised values, the bid's milestone plan, the government's share of the budget
    (`terms`, at most the bid's budget) and IP ownership. It starts its public notice.
    """
    terms = terms or AwardBody()
    require_role(staff, Role.bureau)
    bid, challenge = get_bid(session, staff, bid_id, for_update=True)
    if challenge.status not in OPEN_FOR_DECISIONS:
        raise InvalidTransition(
            f"榜单当前状态为“{challenge.status.label}”，不能授榜", code="challenge_not_open"
        )
    # Either party may have been rejected by the bureau since it bid or nominated.
    require_party_verified(
        session,
        bid.organization_id,
        code="bidder_not_verified",
        detail="揭榜单位未通过科技局审核或已被驳回，不能授予",
    )
    require_party_verified(
        session,
        challenge.organization_id,
        code="owner_not_verified",
        detail="发榜单位未通过科技局审核或已被驳回，不能授予",
    )
    if bid.status is B.nominated and terms.government_funding > bid.budget:
        raise InvalidInput(
            f"政府资助（{terms.government_funding} 万元）不能超过申报预算（{bid.budget} 万元）",
            loc=["body", "government_funding"],
            code="funding_over_budget",
        )
    move_bid(session, staff, bid, "award", {B.nominated}, B.awarded)
    before = challenge.status
    challenge.status = ChallengeStatus.awarded
    audit.record_transition(
        session,
        actor=staff,
        object_type="challenge",
        object_id=challenge.id,
        action="award",
        before=before.value,
        after=challenge.status.value,
    )
    others = session.scalars(
        select(Bid).where(
            Bid.challenge_id == challenge.id,
            Bid.id != bid.id,
            Bid.status.in_(LIVE_BID_STATUSES),
        )
    ).all()
    for other in others:
        other.status_before_award = other.status  # a revoked award gives it back
        move_bid(session, staff, other, "reject", LIVE_BID_STATUSES, B.rejected, REJECTED_BY_AWARD)
        tell_bidder(
            session,
            staff,
            other,
            NotificationKind.bid_rejected,
            f"榜单“{challenge.title}”已授予其他单位，您的申报未被采纳",
        )
    settings = get_settings()
    now = db.utcnow()
    project = Project(
        challenge_id=challenge.id,
        bid_id=bid.id,
        owner_organization_id=challenge.organization_id,
        performer_organization_id=bid.organization_id,
        title=challenge.title,
        sector=challenge.sector,
        region=challenge.region,
        budget=bid.budget,
        government_funding=terms.government_funding,
        ip_ownership=terms.ip_ownership,
        indicators=_indicator_chain(challenge, bid),
        status=ProjectStatus.publicity,
        publicity_ends_at=working_days_end(now, settings.publicity_days, settings.holidays),
    )
    session.add(project)
    session.flush()  # the unique challenge_id is the last guard against a second award
    session.add_all(
        ProjectMilestone(
            project_id=project.id,
            position=position,
            title=step["title"],
            due_date=date.fromisoformat(step["due_date"]),
        )
        for position, step in enumerate(bid.milestones)
    )
    session.flush()
    audit.record(
        session,
        actor=staff,
        action="project.create",
        object_type="project",
        object_id=project.id,
        after={
            "status": project.status.value,
            "bid_id": bid.id,
            "publicity_ends_at": project.publicity_ends_at.isoformat(),
            "government_funding": f"{project.government_funding:.2f}",
        },
    )
    notify(
        session,
        kind=NotificationKind.bid_awarded,
        object_type="project",
        object_id=project.id,
        message=(
            f"榜单“{challenge.title}”已授予，进入公示期，"
            f"公示截止 {project.publicity_ends_at.astimezone(db.CHINA):%Y-%m-%d %H:%M}"
        ),
        actor=staff,
        organizations=[challenge.organization_id, bid.organization_id],
    )
    return bid, project


def _indicator_chain(challenge: Challenge, bid: Bid) -> list[dict[str, Any]]:
    """The challenge's indicators, each with the bid's promised value (None where none)."""
    promised = {p["name"]: p.get("promised") for p in bid.indicators or []}
    return [
        {
            "name": indicator["name"],
            "target": indicator.get("target", ""),
            "unit": indicator.get("unit", ""),
            "promised": promised.get(indicator["name"]),
            "measured": None,
            "passed": None,
        }
        for indicator in challenge.indicators
    ]


def revoke_award(session: Session, *, staff: User, project: Project, reason: str) -> list[Bid]:
    """Undo the award of a locked project: its bid, the bids it rejected, the challenge.

    The project's own transition (`revoke`) is the caller's; here the awarded bid goes back to
    `shortlisted`, every bid the award rejected to the state it had before, and the challenge
    to `closed`, so the owner may nominate the next candidate. The bids given back.
    """
    challenge = session.get(
        Challenge, project.challenge_id, with_for_update=True, populate_existing=True
    )
    assert challenge is not None  # a foreign key
    bid = session.get(Bid, project.bid_id, with_for_update=True, populate_existing=True)
    assert bid is not None
    move_bid(session, staff, bid, "revoke_award", {B.awarded}, B.shortlisted, reason)
    rejected = session.scalars(
        select(Bid)
        .where(
            Bid.challenge_id == challenge.id,
            Bid.status == B.rejected,
            Bid.status_before_award.is_not(None),
        )
        .order_by(Bid.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    for other in rejected:
        earlier = other.status_before_award
        assert earlier is not None
        other.status_before_award = None
        move_bid(session, staff, other, "restore", {B.rejected}, earlier, AWARD_REVOKED)
    before = challenge.status
    challenge.status = ChallengeStatus.closed
    challenge.status_reason = AWARD_REVOKED
    session.flush()
    audit.record_transition(
        session,
        actor=staff,
        object_type="challenge",
        object_id=challenge.id,
        action="revoke_award",
        before=before.value,
        after=challenge.status.value,
        reason=reason,
    )
    return [bid, *rejected]
