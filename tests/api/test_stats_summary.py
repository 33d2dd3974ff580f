"""The summary of a year, from a known set of challenges, bids and projects in 2025.

Instants are UTC; the month buckets are China time (UTC+8): a challenge published at
2024-12-31 15:00 UTC counts in January 2025, and an award at 2025-12-31 17:00 UTC in 2026.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app import db
from app.models import (
    Bid,
    BidStatus,
    Challenge,
    ChallengeStatus,
    Disbursement,
    FailureKind,
    OrganizationKind,
    Project,
    ProjectStatus,
    Role,
    Sector,
    Target,
    User,
)
from tests.factories import make_bid, make_challenge, make_user
from tests.problems import assert_problem, auth

API = "/api/v1"
AGRI, INDUSTRY, SERVICES = Sector.agriculture, Sector.industry, Sector.services


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass
class Data:
    bureau: User
    e1: User
    e2: User
    u1: User
    u2: User
    challenges: dict[str, Challenge]


def challenge(
    session: Session,
    owner: User,
    sector: Sector,
    region: str,
    published: str | None,
    status: ChallengeStatus,
    *,
    created: str | None = None,
    deadline: str | None = None,
    budget: str = "100.00",
) -> Challenge:
    item = make_challenge(session, owner=owner, sector=sector, region=region, status=status)
    item.published_at = at(published) if published else None
    item.created_at = at(created or published or "") - timedelta(days=0 if created else 1)
    if deadline:
        item.deadline = at(deadline)
    item.budget = Decimal(budget)
    session.flush()
    return item


def bid(session: Session, item: Challenge, bidder: User, status: BidStatus) -> Bid:
    made = make_bid(session, challenge=item, bidder=bidder, status=status)
    assert item.published_at is not None
    made.created_at = item.published_at + timedelta(days=1)
    session.flush()
    return made


def project(
    session: Session,
    item: Challenge,
    won: Bid,
    status: ProjectStatus,
    awarded: str,
    *,
    budget: str,
    started: str | None = None,
    ended: str | None = None,
    failure: FailureKind | None = None,
) -> Project:
    made = Project(
        challenge_id=item.id,
        bid_id=won.id,
        owner_organization_id=item.organization_id,
        performer_organization_id=won.organization_id,
        title=item.title,
        sector=item.sector,
        region=item.region,
        budget=Decimal(budget),
        government_funding=Decimal(budget) / 2,
        status=status,
        publicity_ends_at=db.utcnow() + timedelta(days=30)
        if status is ProjectStatus.publicity
        else at(awarded) + timedelta(days=7),
        indicators=[],
        started_at=at(started) if started else None,
        ended_at=at(ended) if ended else None,
        failure_kind=failure,
    )
    session.add(made)
    session.flush()
    made.created_at = at(awarded)
    session.flush()
    return made


@pytest.fixture
def data(session: Session) -> Data:
    bureau = make_user(session, kind=OrganizationKind.bureau)
    e1 = make_user(session, kind=OrganizationKind.enterprise)
    e2 = make_user(session, kind=OrganizationKind.enterprise)
    u1 = make_user(session, kind=OrganizationKind.university)
    u2 = make_user(session, kind=OrganizationKind.institute)
    c = {
        # published 2025-02-01 04:00 China: February
        "c1": challenge(
            session,
            e1,
            INDUSTRY,
            "211302",
            "2025-01-31T20:00",
            ChallengeStatus.published,
            budget="120.5",
        ),
        "c2": challenge(session, e1, AGRI, "211303", "2025-03-10T00:00", ChallengeStatus.awarded),
        "c3": challenge(
            session, e2, SERVICES, "211321", "2025-03-20T00:00", ChallengeStatus.closed
        ),
        "c4": challenge(
            session, e2, INDUSTRY, "211302", None, ChallengeStatus.draft, created="2025-05-01T00:00"
        ),
        # published 2025-01-01 07:00 China: January 2025; its deadline has passed: closed
        "c5": challenge(
            session,
            e1,
            INDUSTRY,
            "211302",
            "2024-12-31T23:00",
            ChallengeStatus.published,
            deadline="2025-02-01T00:00",
        ),
        "c6": challenge(
            session, e2, INDUSTRY, "211302", "2024-06-01T00:00", ChallengeStatus.closed
        ),  # not 2025
        "c7": challenge(
            session, e1, INDUSTRY, "211302", "2025-02-01T00:00", ChallengeStatus.awarded
        ),
        "c8": challenge(
            session, e2, INDUSTRY, "211321", "2025-06-01T00:00", ChallengeStatus.awarded
        ),
        "c9": challenge(
            session, e2, SERVICES, "211322", "2025-06-01T00:00", ChallengeStatus.awarded
        ),
        "c10": challenge(session, e1, AGRI, "211302", "2025-01-01T00:00", ChallengeStatus.closed),
        "c11": challenge(
            session, e2, INDUSTRY, "211302", "2025-08-01T00:00", ChallengeStatus.awarded
        ),
        "c12": challenge(
            session, e1, INDUSTRY, "211302", "2025-12-01T00:00", ChallengeStatus.awarded
        ),
    }
    bid(session, c["c1"], u1, BidStatus.submitted)
    bid(session, c["c1"], u2, BidStatus.rejected)
    b2 = bid(session, c["c2"], u1, BidStatus.awarded)
    bid(session, c["c2"], u2, BidStatus.rejected)
    bid(session, c["c3"], u2, BidStatus.shortlisted)
    b7 = bid(session, c["c7"], u1, BidStatus.awarded)
    b8 = bid(session, c["c8"], u2, BidStatus.awarded)
    b9 = bid(session, c["c9"], u1, BidStatus.awarded)
    b10 = bid(session, c["c10"], u2, BidStatus.shortlisted)  # its award was revoked
    b11 = bid(session, c["c11"], u1, BidStatus.awarded)
    b12 = bid(session, c["c12"], u2, BidStatus.awarded)
    project(
        session, c["c2"], b2, ProjectStatus.completed, "2025-04-09T00:00", budget="90",
        started="2025-05-01T00:00", ended="2025-11-05T00:00",
    )  # fmt: skip
    p2 = project(
        session, c["c7"], b7, ProjectStatus.in_progress, "2025-02-11T00:00", budget="80",
        started="2025-03-01T00:00",
    )  # fmt: skip
    project(
        session, c["c8"], b8, ProjectStatus.failed, "2025-07-01T00:00", budget="70",
        started="2025-07-20T00:00", ended="2025-12-20T00:00", failure=FailureKind.tolerated,
    )  # fmt: skip
    project(
        session, c["c9"], b9, ProjectStatus.terminated, "2025-06-21T00:00", budget="60",
        ended="2025-09-01T00:00",
    )  # fmt: skip
    project(
        session, c["c10"], b10, ProjectStatus.revoked, "2025-01-11T00:00", budget="50",
        ended="2025-01-15T00:00",
    )  # fmt: skip
    project(
        session, c["c11"], b11, ProjectStatus.failed, "2025-08-11T00:00", budget="40",
        started="2025-09-01T00:00", ended="2025-12-01T00:00", failure=FailureKind.misconduct,
    )  # fmt: skip
    # awarded 2026-01-01 01:00 China: a 2026 award
    project(session, c["c12"], b12, ProjectStatus.publicity, "2025-12-31T17:00", budget="30")
    session.add_all(
        [
            Disbursement(
                project_id=p2.id, amount=Decimal("20"), created_by_id=bureau.id,
                created_at=at("2025-06-01T00:00"),
            ),
            Disbursement(
                project_id=p2.id, amount=Decimal("10"), created_by_id=bureau.id,
                created_at=at("2026-01-05T00:00"),
            ),
        ]
    )  # fmt: skip
    p2.disbursed = Decimal("30")
    targets = [
        Target(year=2025, sector=INDUSTRY, region="", published=12, awarded=6, completed=2,
               budget=Decimal("600")),
        Target(year=2025, sector=AGRI, region="", awarded=4),
        Target(year=2025, sector=INDUSTRY, region="211302", awarded=2),
        Target(year=2026, sector=INDUSTRY, region="", awarded=99),
    ]  # fmt: skip
    session.add_all(targets)
    session.flush()
    return Data(bureau, e1, e2, u1, u2, c)


def summary(client: TestClient, user: User | None, **params: Any) -> Any:
    return client.get(f"{API}/stats/summary", headers=auth(user), params=params)


def ok(client: TestClient, user: User, **params: Any) -> dict[str, Any]:
    answer = summary(client, user, **params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def months(**counts: int) -> dict[str, int]:
    names = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    return {f"2025-{i + 1:02d}": counts.get(name, 0) for i, name in enumerate(names)}


def regions(**counts: int) -> dict[str, int]:
    codes = ["211300", "211302", "211303", "211321", "211322", "211324", "211381", "211382"]
    return {code: counts.get(f"r{code}", 0) for code in codes}


def test_bureau_sees_every_figure_of_the_year(client: TestClient, data: Data) -> None:
    body = ok(client, data.bureau, year=2025)
    assert body["year"] == 2025
    assert body["scope"] == {"organization_id": None, "sector": None, "region": None}
    challenges = body["challenges"]
    assert challenges["by_status"] == {
        "draft": 1, "pending_review": 0, "returned": 0, "published": 1, "closed": 3,
        "awarded": 6, "withdrawn": 0, "cancelled": 0,
    }  # fmt: skip
    assert challenges["published"] == {
        "total": 10,
        "by_sector": {"agriculture": 2, "industry": 6, "services": 2},
        "by_region": regions(r211302=6, r211303=1, r211321=2, r211322=1),
        "by_month": months(jan=2, feb=2, mar=2, jun=2, aug=1, dec=1),
    }
    bids = body["bids"]
    assert bids["by_status"] == {
        "submitted": 1, "shortlisted": 2, "nominated": 0, "awarded": 6, "withdrawn": 0,
        "rejected": 2,
    }  # fmt: skip
    assert bids["submitted"]["total"] == 11
    assert bids["submitted"]["by_month"] == months(jan=1, feb=3, mar=3, jun=2, aug=1, dec=1)
    projects = body["projects"]
    assert projects["by_status"] == {
        "publicity": 0, "signing": 0, "in_progress": 1, "acceptance_requested": 0,
        "rectification": 0, "completed": 1, "failed": 2, "terminated": 1, "revoked": 1,
    }  # fmt: skip
    assert projects["awarded"] == {
        "total": 5,
        "by_sector": {"agriculture": 1, "industry": 3, "services": 1},
        "by_region": regions(r211302=2, r211303=1, r211321=1, r211322=1),
        "by_month": months(feb=1, apr=1, jun=1, jul=1, aug=1),
    }
    assert projects["started"]["total"] == 4
    assert projects["started"]["by_month"] == months(mar=1, may=1, jul=1, sep=1)
    assert projects["completed"]["total"] == 1
    assert projects["completed"]["by_month"] == months(nov=1)
    assert projects["failed"]["total"] == 2
    assert projects["failed"]["by_kind"] == {"tolerated": 1, "misconduct": 1}
    assert projects["failed"]["by_month"] == months(dec=2)
    assert projects["terminated"]["total"] == 1
    assert projects["terminated"]["by_sector"] == {"agriculture": 0, "industry": 0, "services": 1}
    assert body["budget"] == {"published": "1020.50", "awarded": "340.00", "disbursed": "20.00"}
    assert body["bids_per_challenge"] == {
        "challenges": 10,
        "bids": 11,
        "mean": 1.1,
        "distribution": {"0": 1, "1": 7, "2": 2, "3": 0, "4": 0, "5+": 0},
    }
    # publish → award: 30, 10, 30, 20, 10 days; award → acceptance: 210 days
    assert body["median"] == {"publish_to_award_days": 20.0, "award_to_acceptance_days": 210.0}
    assert body["targets"] == [
        {
            "sector": "agriculture",
            "region": None,
            "published": {"target": 0, "actual": 2, "percent": None},
            "awarded": {"target": 4, "actual": 1, "percent": 25.0},
            "completed": {"target": 0, "actual": 1, "percent": None},
            "budget": {"target": "0.00", "actual": "90.00", "percent": None},
        },
        {
            "sector": "industry",
            "region": None,
            "published": {"target": 12, "actual": 6, "percent": 50.0},
            "awarded": {"target": 6, "actual": 3, "percent": 50.0},
            "completed": {"target": 2, "actual": 0, "percent": 0.0},
            "budget": {"target": "600.00", "actual": "190.00", "percent": 31.7},
        },
        {
            "sector": "industry",
            "region": "211302",
            "published": {"target": 0, "actual": 5, "percent": None},
            "awarded": {"target": 2, "actual": 2, "percent": 100.0},
            "completed": {"target": 0, "actual": 0, "percent": None},
            "budget": {"target": "0.00", "actual": "120.00", "percent": None},
        },
    ]


def test_sector_and_region_filters(client: TestClient, data: Data) -> None:
    industry = ok(client, data.bureau, year=2025, sector="industry")
    assert industry["scope"]["sector"] == "industry"
    assert industry["challenges"]["published"]["total"] == 6
    assert industry["challenges"]["published"]["by_sector"] == {
        "agriculture": 0, "industry": 6, "services": 0,
    }  # fmt: skip
    assert industry["projects"]["awarded"]["total"] == 3
    assert [(t["sector"], t["region"]) for t in industry["targets"]] == [
        ("industry", None),
        ("industry", "211302"),
    ]
    county = ok(client, data.bureau, year=2025, region="211302")
    assert county["challenges"]["published"]["total"] == 6
    assert county["projects"]["awarded"]["total"] == 2
    assert county["budget"]["disbursed"] == "20.00"
    # only the county's own targets: the city's cannot be set against one county's figures
    assert [(t["sector"], t["region"]) for t in county["targets"]] == [("industry", "211302")]


def test_an_enterprise_sees_its_own_figures_only(client: TestClient, data: Data) -> None:
    body = ok(client, data.e1, year=2025)
    assert body["scope"]["organization_id"] == data.e1.organization_id
    assert body["challenges"]["published"]["total"] == 6  # c1 c2 c5 c7 c10 c12
    assert body["challenges"]["by_status"]["draft"] == 0  # c4 is e2's
    assert body["challenges"]["published"]["by_sector"]["services"] == 0
    assert body["bids"]["submitted"]["total"] == 7
    assert body["projects"]["awarded"]["total"] == 2
    assert body["projects"]["failed"]["total"] == 0
    assert body["projects"]["by_status"]["revoked"] == 1
    assert body["budget"] == {"published": "620.50", "awarded": "170.00", "disbursed": "20.00"}
    assert body["median"] == {"publish_to_award_days": 20.0, "award_to_acceptance_days": 210.0}
    other = ok(client, data.e2, year=2025)
    assert other["challenges"]["published"]["total"] == 4  # c3 c8 c9 c11
    assert other["challenges"]["by_status"]["draft"] == 1
    assert other["budget"]["disbursed"] == "0.00"


def test_a_research_organisation_sees_its_bids_and_projects_only(
    client: TestClient, data: Data
) -> None:
    body = ok(client, data.u2, year=2025)
    assert body["scope"]["organization_id"] == data.u2.organization_id
    assert body["challenges"]["published"]["total"] == 6  # those it bid on
    assert body["bids"]["by_status"] == {
        "submitted": 0, "shortlisted": 2, "nominated": 0, "awarded": 2, "withdrawn": 0,
        "rejected": 2,
    }  # fmt: skip
    assert body["bids_per_challenge"]["distribution"]["1"] == 6
    assert body["bids_per_challenge"]["mean"] == 1.0
    assert body["projects"]["awarded"]["total"] == 1
    assert body["projects"]["failed"]["by_kind"] == {"tolerated": 1, "misconduct": 0}
    assert body["budget"]["awarded"] == "70.00"
    assert body["budget"]["disbursed"] == "0.00"
    assert body["median"] == {"publish_to_award_days": 30.0, "award_to_acceptance_days": None}
    assert ok(client, data.u1, year=2025)["projects"]["awarded"]["total"] == 4


def test_an_organisation_without_activity_sees_zeros(client: TestClient, session: Session) -> None:
    newcomer = make_user(session, kind=OrganizationKind.university)
    body = ok(client, newcomer, year=2025)
    assert body["challenges"]["published"]["total"] == 0
    assert body["bids_per_challenge"] == {
        "challenges": 0,
        "bids": 0,
        "mean": None,
        "distribution": dict.fromkeys(["0", "1", "2", "3", "4", "5+"], 0),
    }
    assert body["median"] == {"publish_to_award_days": None, "award_to_acceptance_days": None}
    assert body["budget"] == {"published": "0.00", "awarded": "0.00", "disbursed": "0.00"}


def test_a_year_boundary_is_china_midnight(client: TestClient, data: Data) -> None:
    body = ok(client, data.bureau, year=2026)
    assert body["projects"]["awarded"]["by_month"]["2026-01"] == 1  # 2025-12-31 17:00 UTC
    assert body["projects"]["by_status"]["publicity"] == 1
    assert body["budget"]["disbursed"] == "10.00"
    assert body["targets"][0]["awarded"] == {"target": 99, "actual": 1, "percent": 1.0}
    earlier = ok(client, data.bureau, year=2024)
    assert earlier["challenges"]["published"]["total"] == 1  # c6; c5 is January 2025


def test_year_defaults_to_this_year_in_china(client: TestClient, data: Data) -> None:
    assert ok(client, data.bureau)["year"] == db.utcnow().astimezone(db.CHINA).year


def test_anonymous_is_401(client: TestClient) -> None:
    assert_problem(summary(client, None, year=2025), 401, "not_authenticated")


def test_experts_have_no_figures(client: TestClient, session: Session) -> None:
    expert = make_user(session, kind=OrganizationKind.bureau, role=Role.expert)
    assert_problem(summary(client, expert, year=2025), 403, "role_not_allowed")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"year": 1999}, "year"),
        ({"year": 2101}, "year"),
        ({"year": "x"}, "year"),
        ({"sector": "mining"}, "sector"),
        ({"region": "999999"}, "region"),
    ],
)
def test_bad_filters_are_422(
    client: TestClient, session: Session, params: dict[str, Any], field: str
) -> None:
    bureau = make_user(session, kind=OrganizationKind.bureau)
    problem = assert_problem(summary(client, bureau, **params), 422, "validation_error")
    assert ["query", field] in [error["loc"] for error in problem["errors"]]


def test_a_challenge_counts_in_the_year_it_was_published_else_created(
    client: TestClient, session: Session
) -> None:
    """by_status: published in the year, or never published and created in it (China time)."""
    owner = make_user(session)
    bureau = make_user(session, kind=OrganizationKind.bureau)
    # Created in 2030, published in 2031 (2030-12-31 16:00 UTC is 1 January in China).
    challenge(
        session, owner, AGRI, "211302", "2030-12-31T16:00", ChallengeStatus.published,
        created="2030-06-01T00:00", deadline="2032-01-01T00:00",
    )  # fmt: skip
    # Never published: its creation decides, China time (2031-12-31 16:00 UTC is 2032).
    challenge(
        session, owner, AGRI, "211302", None, ChallengeStatus.draft, created="2031-03-01T00:00"
    )
    challenge(
        session, owner, AGRI, "211302", None, ChallengeStatus.draft, created="2031-12-31T16:00"
    )
    statuses = {
        year: ok(client, bureau, year=year)["challenges"]["by_status"]
        for year in (2030, 2031, 2032)
    }
    assert (statuses[2030]["published"], statuses[2030]["draft"]) == (0, 0)
    assert (statuses[2031]["published"], statuses[2031]["draft"]) == (1, 1)
    assert (statuses[2032]["published"], statuses[2032]["draft"]) == (0, 1)
