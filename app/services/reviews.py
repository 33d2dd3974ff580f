"""Expert review of bids before the award: criteria, scores, weighted means and the ranking.

A review's weighted score is Σ(score × weight) / Σ weight over the challenge's criteria; a
bid's weighted score is the mean of its counted reviews' weighted scores (a review by an
expert later recused from the challenge is kept but not counted). An expert reads a bid's
reviews only after submitting their own for it.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.errors import Conflict, Forbidden, InvalidInput, InvalidTransition, NotFound
from app.models import (
    AssignmentStatus,
    Bid,
    BidReview,
    BidStatus,
    Challenge,
    ReviewAssignment,
    ReviewCriteria,
    Role,
    User,
)
from app.schemas.review import Criterion, ReviewCreate
from app.services import audit, experts
from app.services.access import is_bureau, require_role
from app.services.bids import OPEN_FOR_DECISIONS, get_bid
from app.services.challenges import get_challenge, is_owner

# The programme's default criteria (PRODUCT.md): their names are stable API keys.
DEFAULT_CRITERIA: tuple[dict[str, Any], ...] = (
    {"name": "技术方案", "weight": 40},
    {"name": "团队与研究基础", "weight": 25},
    {"name": "预算合理性", "weight": 15},
    {"name": "进度可行性", "weight": 20},
)
REVIEWABLE_BIDS = frozenset({BidStatus.submitted, BidStatus.shortlisted, BidStatus.nominated})
_HUNDREDTH = Decimal("0.01")


@dataclass(frozen=True)
class CountedReview:
    review: BidReview
    counted: bool


def criteria_of(session: Session, challenge_id: int) -> list[dict[str, Any]]:
    """The challenge's criteria: the bureau's, or the defaults."""
    stored = session.get(ReviewCriteria, challenge_id)
    return list(stored.criteria) if stored is not None else [dict(c) for c in DEFAULT_CRITERIA]


def get_criteria(session: Session, viewer: User | None, challenge_id: int) -> list[dict[str, Any]]:
    """The criteria of a challenge the viewer may see."""
    return criteria_of(session, get_challenge(session, viewer, challenge_id).id)


def set_criteria(
    session: Session, *, staff: User, challenge_id: int, criteria: list[Criterion]
) -> list[dict[str, Any]]:
    """The bureau sets a challenge's criteria, until the first review is submitted."""
    require_role(staff, Role.bureau)
    challenge = get_challenge(session, staff, challenge_id, for_update=True)
    if challenge.status in experts.REVIEW_OVER:
        raise InvalidTransition(
            f"榜单当前状态为“{challenge.status.label}”，评审已结束", code="review_closed"
        )
    reviewed = select(BidReview.id).where(BidReview.challenge_id == challenge.id).limit(1)
    if session.scalar(reviewed) is not None:
        raise Conflict("已有专家提交评审，评审指标不能再改", code="criteria_locked")
    before = criteria_of(session, challenge.id)
    after = [c.model_dump() for c in criteria]
    stored = session.get(ReviewCriteria, challenge.id)
    if stored is None:
        session.add(
            ReviewCriteria(challenge_id=challenge.id, criteria=after, updated_by_id=staff.id)
        )
    else:
        stored.criteria = after
        stored.updated_by_id = staff.id
    session.flush()
    audit.record(
        session,
        actor=staff,
        action="challenge.set_criteria",
        object_type="challenge",
        object_id=challenge.id,
        before={"criteria": before},
        after={"criteria": after},
    )
    return after


def submit_review(
    session: Session, *, user: User, bid_id: int, data: ReviewCreate
) -> BidReview | ReviewAssignment:
    """An assigned expert scores a bid (a new review) or declares a conflict (the assignment)."""
    assignment = _own_assignment(session, user, bid_id)
    if assignment is not None and assignment.status is AssignmentStatus.recused:
        raise Conflict("您已回避本榜单的评审", code="reviewer_recused")
    bid, challenge = get_bid(session, user, bid_id, for_update=True)  # 404 for whoever may not see
    if user.role is not Role.expert:
        raise Forbidden("只有指派的评审专家可以评审", code="role_not_allowed")
    # Read again under the challenge's lock: a bid from the expert's affiliation may just have
    # recused them.
    assignment = experts.find_assignment(
        session, challenge_id=challenge.id, expert_id=user.id, refresh=True
    )
    if assignment is None or assignment.status is not AssignmentStatus.active:
        raise NotFound("申报不存在", code="bid_not_found")
    if data.conflict:
        return experts.recuse(session, actor=user, assignment=assignment, reason=data.reason or "")
    return _score(session, user, bid, challenge, data)


def _score(
    session: Session, expert: User, bid: Bid, challenge: Challenge, data: ReviewCreate
) -> BidReview:
    if challenge.status not in OPEN_FOR_DECISIONS:
        raise InvalidTransition(
            f"榜单当前状态为“{challenge.status.label}”，不能评审", code="challenge_not_open"
        )
    if bid.status not in REVIEWABLE_BIDS:
        raise InvalidTransition(f"申报当前状态为“{bid.status.label}”，不能评审")
    criteria = criteria_of(session, challenge.id)
    scores = data.scores or {}
    names = [str(c["name"]) for c in criteria]
    if unknown := [name for name in scores if name not in names]:
        raise InvalidInput(
            f"本榜单没有这些评审指标：{'、'.join(unknown)}",
            loc=["body", "scores"],
            code="unknown_criteria",
        )
    if missing := [name for name in names if name not in scores]:
        raise InvalidInput(
            f"以下评审指标未评分：{'、'.join(missing)}",
            loc=["body", "scores"],
            code="missing_scores",
        )
    duplicate = select(BidReview.id).where(
        BidReview.bid_id == bid.id, BidReview.expert_id == expert.id
    )
    if session.scalar(duplicate) is not None:
        raise Conflict("您已评审过该申报", code="duplicate_review")
    review = BidReview(
        bid_id=bid.id,
        challenge_id=challenge.id,
        expert_id=expert.id,
        scores={name: scores[name] for name in names},
        weighted_score=weighted(criteria, scores),
        comment=data.comment,
    )
    session.add(review)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:  # the unique (bid, expert) pair: a concurrent second review
        raise Conflict("您已评审过该申报", code="duplicate_review") from exc
    audit.record(
        session,
        actor=expert,
        action="bid_review.submit",
        object_type="bid_review",
        object_id=review.id,
        after={
            "bid_id": bid.id,
            "expert_id": expert.id,
            "scores": review.scores,
            "weighted_score": str(review.weighted_score),
        },
    )
    return review


def weighted(criteria: list[dict[str, Any]], scores: dict[str, int]) -> Decimal:
    """Σ(score × weight) / Σ weight, to two decimals."""
    total = sum(Decimal(scores[str(c["name"])]) * int(c["weight"]) for c in criteria)
    weights = sum(int(c["weight"]) for c in criteria)
    return (Decimal(total) / weights).quantize(_HUNDREDTH, ROUND_HALF_UP)


def mean(values: list[Decimal]) -> Decimal | None:
    if not values:
        return None
    return (sum(values, Decimal(0)) / len(values)).quantize(_HUNDREDTH, ROUND_HALF_UP)


def bid_reviews(
    session: Session, viewer: User, bid_id: int
) -> tuple[list[CountedReview], Decimal | None]:
    """A bid's reviews and weighted mean: all for the owner and the bureau; for an assigned
    expert, nothing until they have submitted their own, then all."""
    bid, challenge = get_bid(session, viewer, bid_id)
    reviews = _counted(session, challenge.id, bid_ids=[bid.id])
    if not (is_bureau(viewer) or is_owner(viewer, challenge)):
        if viewer.role is not Role.expert:
            raise Forbidden("只有发榜单位、科技局和评审专家可以查看评审", code="role_not_allowed")
        if not any(r.review.expert_id == viewer.id for r in reviews):
            return [], None
    return reviews, mean([r.review.weighted_score for r in reviews if r.counted])


def ranking(
    session: Session, viewer: User, challenge_id: int
) -> list[tuple[Bid, Decimal | None, int]]:
    """The challenge's bids (all but withdrawn ones) with their weighted score and number of
    counted reviews: best first, then the unreviewed, ties by bid id."""
    challenge = get_challenge(session, viewer, challenge_id)
    if not (is_bureau(viewer) or is_owner(viewer, challenge)):
        raise Forbidden("只有发榜单位和科技局可以查看评审排名", code="role_not_allowed")
    bids = session.scalars(
        select(Bid)
        .where(Bid.challenge_id == challenge.id, Bid.status != BidStatus.withdrawn)
        .order_by(Bid.id)
    ).all()
    reviews = _counted(session, challenge.id, bid_ids=[b.id for b in bids])
    rows = []
    for bid in bids:
        scores = [
            r.review.weighted_score for r in reviews if r.counted and r.review.bid_id == bid.id
        ]
        rows.append((bid, mean(scores), len(scores)))
    rows.sort(key=lambda row: (row[1] is None, -(row[1] or 0), row[0].id))
    return rows


def _counted(session: Session, challenge_id: int, *, bid_ids: list[int]) -> list[CountedReview]:
    recused = set(
        session.scalars(
            select(ReviewAssignment.expert_id).where(
                ReviewAssignment.challenge_id == challenge_id,
                ReviewAssignment.status == AssignmentStatus.recused,
            )
        )
    )
    reviews = session.scalars(
        select(BidReview).where(BidReview.bid_id.in_(bid_ids)).order_by(BidReview.id)
    ).all()
    return [CountedReview(review=r, counted=r.expert_id not in recused) for r in reviews]


def _own_assignment(session: Session, user: User, bid_id: int) -> ReviewAssignment | None:
    if user.role is not Role.expert:
        return None
    bid = session.get(Bid, bid_id)
    if bid is None:
        return None
    return experts.find_assignment(session, challenge_id=bid.challenge_id, expert_id=user.id)
