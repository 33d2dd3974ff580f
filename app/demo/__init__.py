"""A small, realistic demo data set (fictional organisations), loaded through the services."""

import logging
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import db
from app.config import get_settings
from app.demo.catalogue import (
    BUREAU_USERNAME,
    CAPABILITIES,
    CHALLENGES,
    DEMO_PASSWORD,
    ORGS,
    RESULTS,
)
from app.demo.clock import at_day, clock
from app.demo.past import EXPERTS
from app.demo.targets import set_plan_targets
from app.demo.walker import Walker, walk_completed, walk_failed, walk_live
from app.models import Capability, Organization, OrganizationKind, Result, User
from app.schemas.bid import BidCreate
from app.schemas.challenge import ChallengeCreate
from app.schemas.organization import OrganizationCreate, UserCreate
from app.schemas.review import ExpertCreate
from app.services import accounts, bids, challenges, experts, offerings

__all__ = ["BUREAU_USERNAME", "DEMO_PASSWORD", "ORGS", "is_empty", "load"]

# The walked projects' steps leave about three weeks after each award for the notice and the
# signatures: a longer notice period (PUBLICITY_DAYS) would overtake them.
MAX_PUBLICITY_DAYS = 10
logger = logging.getLogger("app.demo")


def is_empty(session: Session) -> bool:
    """No organisation other than the bureau's yet."""
    count = session.scalar(
        select(func.count(Organization.id)).where(Organization.kind != OrganizationKind.bureau)
    )
    return not count


def load(session: Session) -> list[tuple[str, str, str]]:
    """Load the demo data; answers the demo sign-ins as (role, username, password).

    The organisations joined about a year and a half ago; two projects of the past are walked
    to their end (`completed`, and `failed` tolerated), one runs now, and three challenges are
    open for bids today; the bureau has set the city plan's 2026 targets.
    """
    with clock(session, at_day(560)):
        staff, users = _organisations(session)
    walker = Walker(session, staff, users)
    reviewers: list[User] = []
    for username, display_name, affiliation, fields in EXPERTS:
        data = ExpertCreate(
            username=username,
            password=DEMO_PASSWORD,
            display_name=display_name,
            organization_id=users[affiliation].organization_id if affiliation else None,
            fields=fields,
        )
        with clock(session, at_day(530)):
            reviewers.append(experts.create_expert(session, staff=staff, data=data).user)
    if get_settings().publicity_days <= MAX_PUBLICITY_DAYS:
        walk_completed(walker, reviewers)
        walk_failed(walker, reviewers)
        walk_live(walker)
    else:
        logger.warning(
            "PUBLICITY_DAYS is over %d: the demo's projects are not walked", MAX_PUBLICITY_DAYS
        )
    _open_challenges(session, staff, users)
    set_plan_targets(session, staff)
    session.flush()
    return (
        [("bureau", BUREAU_USERNAME, DEMO_PASSWORD)]
        + [(users[o.username].role.value, o.username, DEMO_PASSWORD) for o in ORGS]
        + [(expert.role.value, expert.username, DEMO_PASSWORD) for expert in reviewers]
    )


def _organisations(session: Session) -> tuple[User, dict[str, User]]:
    """The bureau's user and the demo organisations' users, verified but one."""
    staff = accounts.ensure_bureau_user(session, username=BUREAU_USERNAME, password=DEMO_PASSWORD)
    if staff is None:
        staff = session.scalars(select(User).where(User.username == BUREAU_USERNAME)).one()
    users: dict[str, User] = {BUREAU_USERNAME: staff}
    for org in ORGS:
        created, user = accounts.register(
            session,
            organization=OrganizationCreate(
                kind=org.kind, name=org.name, credit_code=org.credit_code, region=org.region
            ),
            user=UserCreate(
                username=org.username, password=DEMO_PASSWORD, display_name=org.display_name
            ),
        )
        if org.verified:
            accounts.verify_organization(session, staff=staff, organization_id=created.id)
        users[org.username] = user
    return staff, users


def _open_challenges(session: Session, staff: User, users: dict[str, User]) -> None:
    """Today's open challenges, capabilities and results, and a bid on one of them."""
    deadline = db.utcnow() + timedelta(days=60)
    published = []
    for username, items in CHALLENGES.items():
        for item in items:
            data = ChallengeCreate.model_validate({**item, "deadline": deadline})
            challenge = challenges.create_challenge(session, owner=users[username], data=data)
            challenges.submit(session, user=users[username], challenge_id=challenge.id)
            challenges.approve(session, staff=staff, challenge_id=challenge.id)
            published.append(challenge)
    for username, capabilities in CAPABILITIES.items():
        for capability in capabilities:
            offerings.create_offering(session, Capability, owner=users[username], data=capability)
    for username, results in RESULTS.items():
        for result in results:
            offerings.create_offering(session, Result, owner=users[username], data=result)
    bids.create_bid(
        session,
        user=users["materials_inst"],
        challenge_id=published[1].id,
        data=BidCreate(
            approach="基于本院化学气相沉积中试线，优化温度场与气氛，分阶段放大到 200 mm 坩埚。",
            team="周研究员团队 9 人，其中高级职称 4 人",
            budget=Decimal("450.00"),
            duration_months=18,
            milestones=[
                {
                    "title": "完成 150 mm 样品",
                    "due_date": (db.utcnow() + timedelta(days=200)).date(),
                }
            ],
            indicators=[
                {"name": "纯度", "promised": "≥99.995"},
                {"name": "坩埚直径", "promised": "≥210"},
            ],
        ),
    )
