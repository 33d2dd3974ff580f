"""Small typed factories that write straight to the database (no HTTP, no audit)."""

import itertools
from datetime import timedelta
from decimal import Decimal
from functools import lru_cache

from sqlalchemy.orm import Session

from app.db import utcnow
from app.models import (
    AssignmentStatus,
    Bid,
    BidStatus,
    Capability,
    Challenge,
    ChallengeStatus,
    ExpertProfile,
    Maturity,
    Organization,
    OrganizationKind,
    OrganizationStatus,
    Result,
    ReviewAssignment,
    Role,
    Sector,
    TransferMode,
    User,
)
from app.schemas.organization import credit_code_check_char
from app.security import create_access_token, hash_password
from app.services.bids import add_bid

PASSWORD = "correct-horse-battery"
# A bid's promise for make_challenge's one indicator (纯度 ≥99.99 %).
PROMISES = [{"name": "纯度", "promised": "≥99.995"}]
# A bid body for the race tests: what a university posts to /challenges/{id}/bids.
BID_BODY = {
    "approach": "化学气相沉积",
    "team": "王教授团队",
    "budget": "80",
    "duration_months": 12,
    "indicators": PROMISES,
}
_seq = itertools.count(1)


@lru_cache
def _password_hash() -> str:
    return hash_password(PASSWORD)  # argon2 is slow on purpose: hash once per run


def credit_code(n: int) -> str:
    body = f"91211302MA{n:07d}"
    return body + credit_code_check_char(body)


def make_user(
    session: Session,
    *,
    kind: OrganizationKind = OrganizationKind.enterprise,
    verified: bool = True,
    organization: Organization | None = None,
    role: Role | None = None,
    region: str = "211302",
) -> User:
    """A user with its own new organisation (or of the one given)."""
    n = next(_seq)
    if organization is None:
        organization = Organization(
            kind=kind,
            name=f"测试科技局{n}" if kind is OrganizationKind.bureau else f"测试单位{n}",
            credit_code=credit_code(n) if kind is OrganizationKind.enterprise else None,
            region=region,
            status=OrganizationStatus.verified if verified else OrganizationStatus.unverified,
        )
        session.add(organization)
    user = User(
        organization=organization,
        username=f"user{n}",
        display_name=f"用户{n}",
        password_hash=_password_hash(),
        role=role or Role.for_kind(organization.kind),
    )
    session.add(user)
    session.flush()
    return user


def headers(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_access_token(user.id)}"}


def make_challenge(
    session: Session,
    *,
    owner: User,
    status: ChallengeStatus = ChallengeStatus.published,
    title: str = "高纯热解氮化硼坩埚制备工艺",
    description: str = "现有坩埚纯度不足，需要化学气相沉积工艺优化。",
    sector: Sector = Sector.industry,
    region: str = "211302",
    deadline_days: float = 30,
    tags: list[str] | None = None,
) -> Challenge:
    challenge = Challenge(
        organization_id=owner.organization_id,
        created_by_id=owner.id,
        title=title,
        description=description,
        indicators=[{"name": "纯度", "target": "≥99.99", "unit": "%"}],
        expected_outcome="",
        sector=sector,
        tags=tags or ["热解氮化硼"],
        budget=Decimal("100.00"),
        deadline=utcnow() + timedelta(days=deadline_days),
        region=region,
        contact="",
        status=status,
        published_at=utcnow() if status is ChallengeStatus.published else None,
    )
    session.add(challenge)
    session.flush()
    return challenge


def make_bid(
    session: Session,
    *,
    challenge: Challenge,
    bidder: User,
    status: BidStatus = BidStatus.submitted,
) -> Bid:
    bid = Bid(
        challenge_id=challenge.id,
        organization_id=bidder.organization_id,
        created_by_id=bidder.id,
        approach="化学气相沉积工艺优化",
        team="王教授团队",
        budget=Decimal("90.00"),
        duration_months=12,
        milestones=[{"title": "中试", "due_date": "2027-06-30"}],
        indicators=[
            {"name": str(indicator["name"]), "promised": f"达到{indicator['target']}"}
            for indicator in challenge.indicators
        ],
        status=status,
    )
    add_bid(session, challenge=challenge, bid=bid)
    return bid


def make_expert(session: Session, *, bureau: User, affiliation: Organization | None = None) -> User:
    """An expert appointed by `bureau`'s organisation, affiliated with `affiliation` or none."""
    expert = make_user(session, organization=bureau.organization, role=Role.expert)
    session.add(
        ExpertProfile(
            user_id=expert.id,
            affiliation_id=affiliation.id if affiliation else None,
            fields=["热解氮化硼"],
            created_by_id=bureau.id,
        )
    )
    session.flush()
    return expert


def assign_expert(
    session: Session,
    *,
    challenge: Challenge,
    expert: User,
    status: AssignmentStatus = AssignmentStatus.active,
) -> ReviewAssignment:
    assignment = ReviewAssignment(
        challenge_id=challenge.id,
        expert_id=expert.id,
        status=status,
        recusal_reason="测试回避" if status is AssignmentStatus.recused else None,
        assigned_by_id=expert.id,
    )
    session.add(assignment)
    session.flush()
    return assignment


def make_capability(
    session: Session, *, owner: User, title: str = "先进陶瓷团队", description: str = "氮化硼"
) -> Capability:
    item = Capability(
        organization_id=owner.organization_id,
        created_by_id=owner.id,
        title=title,
        description=description,
        tags=[],
    )
    session.add(item)
    session.flush()
    return item


def make_result(
    session: Session, *, owner: User, title: str = "高纯氮化硼制备技术", description: str = "沉积"
) -> Result:
    item = Result(
        organization_id=owner.organization_id,
        created_by_id=owner.id,
        title=title,
        description=description,
        tags=[],
        maturity=Maturity.pilot,
        transfer_mode=TransferMode.licence,
        patents=[],
    )
    session.add(item)
    session.flush()
    return item
