"""A whole awarded project and everyone around it, written straight to the database.

`make_world(session, status=...)` gives the roles every permission test of the project
routes goes through: the owner enterprise, another enterprise, the awarded university, a
rival university (its bid was rejected by the award), an expert and another expert (neither
assigned: tests that need a reviewer assign one), the bureau; and a project in `status` with
its milestones from the bid's plan and, from `in_progress` on, the three signatures.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from app.db import utcnow
from app.models import (
    Bid,
    BidStatus,
    Challenge,
    ChallengeStatus,
    OrganizationKind,
    Party,
    Project,
    ProjectMilestone,
    ProjectSignature,
    ProjectStatus,
    Role,
    User,
)
from tests.factories import make_bid, make_challenge, make_user

SIGNED_STATES = frozenset(
    {
        ProjectStatus.in_progress,
        ProjectStatus.acceptance_requested,
        ProjectStatus.rectification,
        ProjectStatus.completed,
        ProjectStatus.failed,
        ProjectStatus.terminated,
    }
)


@dataclass
class World:
    owner: User
    other_enterprise: User
    performer: User
    rival: User
    expert: User
    other_expert: User
    bureau: User
    challenge: Challenge
    bid: Bid
    rival_bid: Bid
    project: Project
    milestones: list[ProjectMilestone]

    def role(self, name: str) -> User | None:
        """The user for a parametrised role name; "anonymous" is None."""
        return None if name == "anonymous" else getattr(self, name)


ROLES = (
    "anonymous",
    "owner",
    "other_enterprise",
    "performer",
    "rival",
    "expert",
    "other_expert",
    "bureau",
)


def make_world(
    session: Session,
    *,
    status: ProjectStatus = ProjectStatus.in_progress,
    government_funding: Decimal = Decimal("50.00"),
    milestone_dates: tuple[date, ...] | None = None,
) -> World:
    owner = make_user(session, kind=OrganizationKind.enterprise)
    other_enterprise = make_user(session, kind=OrganizationKind.enterprise)
    performer = make_user(session, kind=OrganizationKind.university)
    rival = make_user(session, kind=OrganizationKind.university)
    expert = make_user(session, kind=OrganizationKind.bureau, role=Role.expert)
    other_expert = make_user(session, kind=OrganizationKind.bureau, role=Role.expert)
    bureau = make_user(session, kind=OrganizationKind.bureau)
    challenge = make_challenge(session, owner=owner, status=ChallengeStatus.awarded)
    bid = make_bid(session, challenge=challenge, bidder=performer, status=BidStatus.awarded)
    rival_bid = make_bid(session, challenge=challenge, bidder=rival, status=BidStatus.rejected)
    rival_bid.status_before_award = BidStatus.submitted
    now = utcnow()
    today = now.date()
    project = Project(
        challenge_id=challenge.id,
        bid_id=bid.id,
        owner_organization_id=owner.organization_id,
        performer_organization_id=performer.organization_id,
        title=challenge.title,
        sector=challenge.sector,
        region=challenge.region,
        budget=bid.budget,
        government_funding=government_funding,
        status=status,
        publicity_ends_at=now + timedelta(days=7) if status is ProjectStatus.publicity else now,
        indicators=[
            {**indicator, "promised": "≥99.995", "measured": None, "passed": None}
            for indicator in challenge.indicators
        ],
        ip_ownership="成果归双方共有",
        started_at=now if status in SIGNED_STATES else None,
    )
    session.add(project)
    session.flush()
    dates = milestone_dates or (today + timedelta(days=90), today + timedelta(days=270))
    milestones = [
        ProjectMilestone(
            project_id=project.id, position=i, title=f"第{i + 1}阶段成果", due_date=due
        )
        for i, due in enumerate(dates)
    ]
    session.add_all(milestones)
    if status in SIGNED_STATES:
        for party, user in (
            (Party.enterprise, owner),
            (Party.performer, performer),
            (Party.bureau, bureau),
        ):
            session.add(ProjectSignature(project_id=project.id, party=party, user_id=user.id))
    session.flush()
    return World(
        owner=owner,
        other_enterprise=other_enterprise,
        performer=performer,
        rival=rival,
        expert=expert,
        other_expert=other_expert,
        bureau=bureau,
        challenge=challenge,
        bid=bid,
        rival_bid=rival_bid,
        project=project,
        milestones=milestones,
    )
