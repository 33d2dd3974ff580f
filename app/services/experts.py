"""Experts appointed by the bureau, and their assignments to challenges (conflicts of interest).

Assignment, a bid's arrival and every review lock the challenge's row first, so a bid from an
assigned expert's affiliation and that expert's assignment or review never pass each other.
"""

from collections.abc import Sequence

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.errors import Conflict, Forbidden, InvalidInput, InvalidTransition, NotFound
from app.models import (
    LIVE_BID_STATUSES,
    AssignmentStatus,
    Bid,
    BidReview,
    Challenge,
    ChallengeStatus,
    ExpertProfile,
    NotificationKind,
    Organization,
    OrganizationKind,
    ReviewAssignment,
    Role,
    User,
)
from app.schemas.review import ExpertCreate
from app.security import hash_password, password_weakness
from app.services import audit
from app.services.access import is_bureau, require_role
from app.services.challenges import get_challenge, is_owner
from app.services.notifications import notify

# Once awarded, withdrawn or cancelled, a challenge takes no more reviewers or criteria.
REVIEW_OVER = frozenset(
    {ChallengeStatus.awarded, ChallengeStatus.withdrawn, ChallengeStatus.cancelled}
)
AUTO_RECUSAL = "所在单位已对该榜单揭榜申报，自动回避"


def create_expert(session: Session, *, staff: User, data: ExpertCreate) -> ExpertProfile:
    """The bureau appoints an expert: a user with role `expert` and a profile."""
    require_role(staff, Role.bureau)
    if weakness := password_weakness(data.password, username=data.username):
        raise InvalidInput(weakness, loc=["body", "password"], code="weak_password")
    if data.organization_id is not None:
        affiliation = session.get(Organization, data.organization_id)
        if affiliation is None or affiliation.kind is OrganizationKind.bureau:
            raise InvalidInput(
                "所在单位不存在（独立专家请填 null）",
                loc=["body", "organization_id"],
                code="unknown_organization",
            )
    if session.scalar(select(User.id).where(User.username == data.username)) is not None:
        raise Conflict("用户名已被使用", code="username_taken")
    # The bureau's organisation is every expert's home (see ExpertProfile): the affiliation
    # gives no organisation member's access.
    user = User(
        organization_id=staff.organization_id,
        username=data.username,
        display_name=data.display_name,
        password_hash=hash_password(data.password),
        role=Role.expert,
    )
    session.add(user)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:  # a concurrent request took the name
        raise Conflict("用户名已被使用", code="username_taken") from exc
    profile = ExpertProfile(
        user_id=user.id,
        affiliation_id=data.organization_id,
        fields=list(data.fields),
        created_by_id=staff.id,
    )
    session.add(profile)
    session.flush()
    audit.record(
        session,
        actor=staff,
        action="user.create_expert",
        object_type="user",
        object_id=user.id,
        after={"role": Role.expert.value, "organization_id": data.organization_id},
    )
    return profile


def experts_query() -> Select[ExpertProfile]:
    """Every expert, oldest first."""
    return select(ExpertProfile).order_by(ExpertProfile.user_id)


def affiliation_of(session: Session, user: User) -> int | None:
    """The organisation a user answers for: an expert's affiliation, else their own."""
    if user.role is not Role.expert:
        return user.organization_id
    profile = session.get(ExpertProfile, user.id)
    return profile.affiliation_id if profile is not None else None


def find_assignment(
    session: Session, *, challenge_id: int, expert_id: int, refresh: bool = False
) -> ReviewAssignment | None:
    return session.get(ReviewAssignment, (challenge_id, expert_id), populate_existing=refresh)


def is_assigned(session: Session, viewer: User | None, challenge_id: int) -> bool:
    """Whether the viewer is an expert assigned to the challenge and not recused from it."""
    if viewer is None or viewer.role is not Role.expert:
        return False
    assignment = find_assignment(session, challenge_id=challenge_id, expert_id=viewer.id)
    return assignment is not None and assignment.status is AssignmentStatus.active


def assign_reviewer(
    session: Session, *, staff: User, challenge_id: int, expert_id: int
) -> ReviewAssignment:
    """The bureau assigns an expert to a challenge, unless the expert has a conflict."""
    require_role(staff, Role.bureau)
    challenge = get_challenge(session, staff, challenge_id, for_update=True)
    _require_review_open(challenge)
    profile = _get_expert(session, expert_id)
    if find_assignment(session, challenge_id=challenge.id, expert_id=expert_id) is not None:
        raise Conflict("该专家已是本榜单的评审专家", code="reviewer_exists")
    affiliation = profile.affiliation_id
    if affiliation is not None and (
        affiliation == challenge.organization_id or affiliation in _bidders(session, challenge)
    ):
        raise Conflict("专家所在单位是发榜单位或揭榜单位，须回避", code="conflict_of_interest")
    assignment = ReviewAssignment(
        challenge_id=challenge.id,
        expert_id=expert_id,
        status=AssignmentStatus.active,
        assigned_by_id=staff.id,
    )
    session.add(assignment)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:  # a concurrent assignment of the same expert
        raise Conflict("该专家已是本榜单的评审专家", code="reviewer_exists") from exc
    _audit(session, staff, assignment, "assign_reviewer", before=None)
    notify(
        session,
        kind=NotificationKind.review_assigned,
        object_type="challenge",
        object_id=challenge.id,
        message=f"您被指派为榜单“{challenge.title}”的评审专家",
        actor=staff,
        users=[expert_id],
    )
    return assignment


def reviewers_query(session: Session, viewer: User, challenge_id: int) -> Select[ReviewAssignment]:
    """A challenge's reviewers, in the order they were assigned: for the bureau and the owner."""
    challenge = get_challenge(session, viewer, challenge_id)
    if not (is_bureau(viewer) or is_owner(viewer, challenge)):
        raise Forbidden("只有科技局和发榜单位可以查看评审专家", code="role_not_allowed")
    return (
        select(ReviewAssignment)
        .where(ReviewAssignment.challenge_id == challenge.id)
        .order_by(ReviewAssignment.created_at, ReviewAssignment.expert_id)
    )


def remove_reviewer(session: Session, *, staff: User, challenge_id: int, expert_id: int) -> None:
    """The bureau takes an expert off a challenge who has not reviewed any of its bids yet."""
    require_role(staff, Role.bureau)
    challenge = get_challenge(session, staff, challenge_id, for_update=True)
    assignment = find_assignment(session, challenge_id=challenge.id, expert_id=expert_id)
    if assignment is None:
        raise NotFound("该专家不是本榜单的评审专家", code="reviewer_not_found")
    _require_review_open(challenge)
    reviewed = select(BidReview.id).where(
        BidReview.challenge_id == challenge.id, BidReview.expert_id == expert_id
    )
    if session.scalar(reviewed.limit(1)) is not None:
        raise Conflict(
            "该专家已提交评审，不能移除（可由专家声明回避）", code="reviewer_has_reviews"
        )
    audit.record(
        session,
        actor=staff,
        action="challenge.remove_reviewer",
        object_type="challenge",
        object_id=challenge.id,
        before={"expert_id": expert_id, "status": assignment.status.value},
    )
    session.delete(assignment)
    session.flush()


def recuse(
    session: Session, *, actor: User | None, assignment: ReviewAssignment, reason: str
) -> ReviewAssignment:
    """The expert no longer reviews this challenge (nor reads its bids); audited."""
    if assignment.status is AssignmentStatus.recused:
        raise Conflict("该专家已回避本榜单的评审", code="reviewer_recused")
    assignment.status = AssignmentStatus.recused
    assignment.recusal_reason = reason
    session.flush()
    _audit(
        session, actor, assignment, "recuse_reviewer", before=AssignmentStatus.active, reason=reason
    )
    return assignment


def recuse_conflicted(
    session: Session, *, actor: User, challenge_id: int, organization_id: int
) -> Sequence[ReviewAssignment]:
    """A bid from `organization_id` arrived: its experts assigned to the challenge step aside.

    Called by the bid's creation, in its transaction, with the challenge row locked.
    """
    conflicted = session.scalars(
        select(ReviewAssignment)
        .join(ExpertProfile, ExpertProfile.user_id == ReviewAssignment.expert_id)
        .where(
            ReviewAssignment.challenge_id == challenge_id,
            ReviewAssignment.status == AssignmentStatus.active,
            ExpertProfile.affiliation_id == organization_id,
        )
    ).all()
    for assignment in conflicted:
        recuse(session, actor=actor, assignment=assignment, reason=AUTO_RECUSAL)
    return conflicted


def _get_expert(session: Session, expert_id: int) -> ExpertProfile:
    profile = session.get(ExpertProfile, expert_id)
    if profile is None or profile.user.role is not Role.expert:
        raise NotFound("专家不存在", code="expert_not_found")
    return profile


def _bidders(session: Session, challenge: Challenge) -> set[int]:
    return set(
        session.scalars(
            select(Bid.organization_id).where(
                Bid.challenge_id == challenge.id, Bid.status.in_(LIVE_BID_STATUSES)
            )
        )
    )


def _require_review_open(challenge: Challenge) -> None:
    if challenge.status in REVIEW_OVER:
        raise InvalidTransition(
            f"榜单当前状态为“{challenge.status.label}”，评审已结束", code="review_closed"
        )


def _audit(
    session: Session,
    actor: User | None,
    assignment: ReviewAssignment,
    action: str,
    *,
    before: AssignmentStatus | None,
    reason: str | None = None,
) -> None:
    audit.record(
        session,
        actor=actor,
        action=f"challenge.{action}",
        object_type="challenge",
        object_id=assignment.challenge_id,
        before={"expert_id": assignment.expert_id, "status": before.value} if before else None,
        after={"expert_id": assignment.expert_id, "status": assignment.status.value},
        reason=reason,
    )
