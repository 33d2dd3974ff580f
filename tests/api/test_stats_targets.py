"""Yearly targets: the bureau replaces a year's, every signed-in user reads them."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import AuditEvent, OrganizationKind, Role, Target, User
from tests.factories import make_user
from tests.problems import assert_problem, auth

API = "/api/v1"
BODY: dict[str, Any] = {
    "sectors": {
        "agriculture": {"published": 8, "awarded": 4, "completed": 3, "budget": "400"},
        "industry": {"published": 12, "awarded": 6, "completed": 5, "budget": "900.5"},
    },
    "regions": {"211302": {"industry": {"published": 3, "awarded": 2}}},
}


def put(client: TestClient, user: User | None, body: Any = BODY, year: int = 2026) -> Any:
    return client.put(f"{API}/stats/targets/{year}", headers=auth(user), json=body)


def get(client: TestClient, user: User | None, year: int = 2026) -> Any:
    return client.get(f"{API}/stats/targets/{year}", headers=auth(user))


@pytest.fixture
def bureau(session: Session) -> User:
    return make_user(session, kind=OrganizationKind.bureau)


def test_bureau_sets_targets_and_any_signed_in_user_reads_them(
    client: TestClient, session: Session, bureau: User
) -> None:
    answer = put(client, bureau)
    assert answer.status_code == 200, answer.text
    expected = {
        "year": 2026,
        "sectors": {
            "agriculture": {"published": 8, "awarded": 4, "completed": 3, "budget": "400.00"},
            "industry": {"published": 12, "awarded": 6, "completed": 5, "budget": "900.50"},
        },
        "regions": {
            "211302": {"industry": {"published": 3, "awarded": 2, "completed": 0, "budget": "0.00"}}
        },
    }
    assert answer.json() == expected
    for kind in (OrganizationKind.enterprise, OrganizationKind.university):
        reader = make_user(session, kind=kind)
        assert get(client, reader).json() == expected
    expert = make_user(session, kind=OrganizationKind.bureau, role=Role.expert)
    assert get(client, expert).json() == expected
    rows = session.scalars(select(Target).where(Target.year == 2026)).all()
    assert {(r.sector.value, r.region) for r in rows} == {
        ("agriculture", ""),
        ("industry", ""),
        ("industry", "211302"),
    }


def test_a_year_without_targets_reads_empty(client: TestClient, bureau: User) -> None:
    answer = get(client, bureau, year=2031)
    assert answer.status_code == 200
    assert answer.json() == {"year": 2031, "sectors": {}, "regions": {}}


def test_put_replaces_the_whole_year_and_is_audited(
    client: TestClient, session: Session, bureau: User
) -> None:
    put(client, bureau)
    put(client, bureau, year=2027)  # another year is left alone
    smaller = {"sectors": {"services": {"awarded": 2}}}
    answer = put(client, bureau, smaller)
    assert answer.status_code == 200
    assert answer.json()["sectors"] == {
        "services": {"published": 0, "awarded": 2, "completed": 0, "budget": "0.00"}
    }
    assert answer.json()["regions"] == {}
    assert get(client, bureau).json() == answer.json()
    assert get(client, bureau, year=2027).json()["sectors"].keys() == {"agriculture", "industry"}
    events = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "target.replace", AuditEvent.object_id == 2026)
        .order_by(AuditEvent.id)
    ).all()
    assert len(events) == 2
    first, second = events
    assert first.actor_id == bureau.id
    assert first.before == {"sectors": {}, "regions": {}}
    assert first.after is not None
    assert first.after["sectors"]["industry"]["budget"] == "900.50"
    assert second.before == first.after
    assert second.after == {
        "sectors": {"services": {"published": 0, "awarded": 2, "completed": 0, "budget": "0.00"}},
        "regions": {},
    }


def test_an_empty_body_clears_the_year(client: TestClient, bureau: User) -> None:
    put(client, bureau)
    assert put(client, bureau, {}).status_code == 200
    assert get(client, bureau).json() == {"year": 2026, "sectors": {}, "regions": {}}


def test_anonymous_is_401(client: TestClient) -> None:
    assert_problem(get(client, None), 401, "not_authenticated")
    assert_problem(put(client, None), 401, "not_authenticated")


@pytest.mark.parametrize(
    ("kind", "role"),
    [
        (OrganizationKind.enterprise, None),
        (OrganizationKind.university, None),
        (OrganizationKind.institute, None),
        (OrganizationKind.bureau, Role.expert),
    ],
)
def test_only_the_bureau_sets_targets(
    client: TestClient, session: Session, kind: OrganizationKind, role: Role | None
) -> None:
    user = make_user(session, kind=kind, role=role)
    assert_problem(put(client, user), 403, "role_not_allowed")
    assert session.scalars(select(Target)).first() is None


@pytest.mark.parametrize("year", [1999, 2101, 0])
def test_year_out_of_range_is_422(client: TestClient, bureau: User, year: int) -> None:
    assert_problem(put(client, bureau, year=year), 422, "validation_error")
    assert_problem(get(client, bureau, year=year), 422, "validation_error")


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"sectors": {"mining": {"awarded": 1}}}, ["body", "sectors", "mining", "[key]"]),
        (
            {"regions": {"999999": {"industry": {"awarded": 1}}}},
            ["body", "regions", "999999", "[key]"],
        ),
        (
            {"regions": {"211302": {"mining": {"awarded": 1}}}},
            ["body", "regions", "211302", "mining", "[key]"],
        ),
        ({"sectors": {"industry": {"awarded": -1}}}, ["body", "sectors", "industry", "awarded"]),
        (
            {"sectors": {"industry": {"budget": "-0.01"}}},
            ["body", "sectors", "industry", "budget"],
        ),
        (
            {"regions": {"211302": {"industry": {"completed": -3}}}},
            ["body", "regions", "211302", "industry", "completed"],
        ),
        ({"sectors": {"industry": {"awardd": 1}}}, ["body", "sectors", "industry", "awardd"]),
        ({"sector": {}}, ["body", "sector"]),
    ],
)
def test_bad_targets_are_422_and_change_nothing(
    client: TestClient, session: Session, bureau: User, body: Any, loc: list[Any]
) -> None:
    put(client, bureau)
    problem = assert_problem(put(client, bureau, body), 422, "validation_error")
    assert loc in [error["loc"] for error in problem["errors"]], problem
    assert get(client, bureau).json()["sectors"].keys() == {"agriculture", "industry"}
