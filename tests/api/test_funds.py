"""Progress reports by the performer, disbursements by the bureau within the government share."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import db
from app.models import (
    AuditEvent,
    Disbursement,
    Notification,
    NotificationKind,
    Project,
    ProjectStatus,
    User,
)
from tests.problems import assert_problem, auth
from tests.project_factories import ROLES, World, make_world

API = "/api/v1"
OUTSIDERS = {"other_enterprise", "rival", "expert", "other_expert"}
REPORT = {"period": "2027年第一季度", "summary": "完成中试线搭建", "spent": "12.50"}
SIGNED_LIVE = [
    ProjectStatus.in_progress,
    ProjectStatus.acceptance_requested,
    ProjectStatus.rectification,
]
NOT_LIVE = [
    ProjectStatus.publicity,
    ProjectStatus.signing,
    ProjectStatus.completed,
    ProjectStatus.failed,
    ProjectStatus.terminated,
    ProjectStatus.revoked,
]


def notified(session: Session, kind: NotificationKind) -> set[int]:
    return set(session.scalars(select(Notification.user_id).where(Notification.kind == kind)))


def report(client: TestClient, world: World, user: User | None, body: Any = REPORT) -> Any:
    return client.post(f"{API}/projects/{world.project.id}/reports", headers=auth(user), json=body)


def disburse(client: TestClient, world: World, amount: str, **extra: Any) -> Any:
    return client.post(
        f"{API}/projects/{world.project.id}/disbursements",
        headers=auth(extra.pop("user", world.bureau)),
        json={"amount": amount, **extra},
    )


def stored_disbursed(session: Session, world: World) -> Decimal:
    project = session.get(Project, world.project.id, populate_existing=True)
    assert project is not None
    return project.disbursed


@pytest.fixture
def world(session: Session) -> World:
    return make_world(session, government_funding=Decimal("50.00"))


# Reports


@pytest.mark.parametrize("role", ROLES)
def test_only_the_performer_files_a_report(client: TestClient, world: World, role: str) -> None:
    r = report(client, world, world.role(role))
    if role == "performer":
        assert r.status_code == 201, r.text
        assert {k: r.json()[k] for k in REPORT} == REPORT
        assert r.json()["created_by_id"] == world.performer.id
    elif role == "anonymous":
        assert_problem(r, 401, "not_authenticated")
    elif role in OUTSIDERS:
        assert_problem(r, 404, "project_not_found")
    else:
        assert_problem(r, 403, "not_project_party")


def test_a_report_tells_the_enterprise_and_the_bureau(
    client: TestClient, session: Session, world: World
) -> None:
    assert report(client, world, world.performer).status_code == 201
    assert notified(session, NotificationKind.report_filed) == {world.owner.id, world.bureau.id}
    (event,) = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "progress_report.create")
    )
    assert event.after == {
        "project_id": world.project.id,
        "period": "2027年第一季度",
        "spent": "12.50",
    }


@pytest.mark.parametrize(
    "body",
    [
        {**REPORT, "period": ""},
        {**REPORT, "summary": " "},
        {**REPORT, "spent": "-1"},
        {**REPORT, "period": "一" * 33},
        {"period": "2027Q1", "summary": "x"},
    ],
)
def test_a_report_with_bad_fields_is_422(client: TestClient, world: World, body: Any) -> None:
    assert_problem(report(client, world, world.performer, body), 422, "validation_error")


@pytest.mark.parametrize("status", [*SIGNED_LIVE, *NOT_LIVE])
def test_reports_are_filed_from_the_start_until_the_project_ends(
    client: TestClient, session: Session, status: ProjectStatus
) -> None:
    world = make_world(session, status=status)
    r = report(client, world, world.performer)
    if status in SIGNED_LIVE:
        assert r.status_code == 201, r.text
    else:
        assert_problem(r, 409, "project_not_running")


@pytest.mark.parametrize("role", ROLES)
def test_reports_are_listed_for_the_parties_and_the_bureau_newest_first(
    client: TestClient, session: Session, world: World, role: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = report(client, world, world.performer).json()["id"]
    later = db.utcnow() + timedelta(days=90)
    monkeypatch.setattr(db, "utcnow", lambda: later)
    second = report(client, world, world.performer, {**REPORT, "period": "2027年第二季度"})
    r = client.get(
        f"{API}/projects/{world.project.id}/reports?limit=1", headers=auth(world.role(role))
    )
    if role == "anonymous":
        assert_problem(r, 401, "not_authenticated")
    elif role in OUTSIDERS:
        assert_problem(r, 404, "project_not_found")
    else:
        assert r.status_code == 200, r.text
        assert [i["id"] for i in r.json()["items"]] == [second.json()["id"]]
        assert (r.json()["total"], r.json()["limit"]) == (2, 1)
        rest = client.get(
            f"{API}/projects/{world.project.id}/reports?offset=1", headers=auth(world.role(role))
        )
        assert [i["id"] for i in rest.json()["items"]] == [first]


# Disbursements


@pytest.mark.parametrize("role", ROLES)
def test_only_the_bureau_disburses(client: TestClient, world: World, role: str) -> None:
    r = disburse(client, world, "10", user=world.role(role), note="首笔")
    if role == "bureau":
        assert r.status_code == 201, r.text
        assert (r.json()["amount"], r.json()["note"], r.json()["milestone_id"]) == (
            "10.00",
            "首笔",
            None,
        )
    elif role == "anonymous":
        assert_problem(r, 401, "not_authenticated")
    elif role in OUTSIDERS:
        assert_problem(r, 404, "project_not_found")
    else:
        assert_problem(r, 403, "not_project_party")


@pytest.mark.parametrize("role", ROLES)
def test_disbursements_are_listed_for_the_parties_and_the_bureau(
    client: TestClient, world: World, role: str
) -> None:
    first = disburse(client, world, "10").json()["id"]
    second = disburse(client, world, "5").json()["id"]
    r = client.get(
        f"{API}/projects/{world.project.id}/disbursements", headers=auth(world.role(role))
    )
    if role == "anonymous":
        assert_problem(r, 401, "not_authenticated")
    elif role in OUTSIDERS:
        assert_problem(r, 404, "project_not_found")
    else:
        assert r.status_code == 200, r.text
        assert [i["id"] for i in r.json()["items"]] == [second, first]


def test_the_sum_never_passes_the_government_share(
    client: TestClient, session: Session, world: World
) -> None:
    assert disburse(client, world, "30").status_code == 201
    problem = assert_problem(disburse(client, world, "30"), 409, "over_funding")
    assert "尚可拨付 20.00 万元" in problem["detail"]
    assert stored_disbursed(session, world) == Decimal("30.00")
    assert disburse(client, world, "20").status_code == 201
    assert_problem(disburse(client, world, "0.01"), 409, "over_funding")
    assert stored_disbursed(session, world) == Decimal("50.00")
    rows = session.scalars(
        select(Disbursement.amount).where(Disbursement.project_id == world.project.id)
    )
    assert sum(rows) == Decimal("50.00")


def test_a_disbursement_is_audited_and_tells_the_performer(
    client: TestClient, session: Session, world: World
) -> None:
    first = disburse(client, world, "20").json()["id"]
    r = disburse(client, world, "12.5", milestone_id=world.milestones[0].id, note="第二笔")
    assert r.status_code == 201, r.text
    assert r.json()["milestone_id"] == world.milestones[0].id
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "project.disburse").order_by(AuditEvent.id)
    ).all()
    assert [(e.before, e.after, e.reason) for e in events] == [
        ({"disbursed": "0.00"}, {"disbursed": "20.00", "disbursement_id": first}, None),
        (
            {"disbursed": "20.00"},
            {"disbursed": "32.50", "disbursement_id": r.json()["id"]},
            "第二笔",
        ),
    ]
    assert notified(session, NotificationKind.funds_disbursed) == {world.performer.id}


@pytest.mark.parametrize("amount", ["0", "-5", "abc", "1.001"])
def test_an_amount_that_is_not_positive_money_is_422(
    client: TestClient, world: World, amount: str
) -> None:
    assert_problem(disburse(client, world, amount), 422, "validation_error")


def test_a_milestone_of_another_project_is_refused(
    client: TestClient, session: Session, world: World
) -> None:
    other = make_world(session)
    for milestone_id in (other.milestones[0].id, 999999):
        problem = assert_problem(
            disburse(client, world, "5", milestone_id=milestone_id), 422, "validation_error"
        )
        assert problem["errors"][0]["loc"] == ["body", "milestone_id"]
    assert stored_disbursed(session, world) == Decimal("0.00")


@pytest.mark.parametrize("status", [*SIGNED_LIVE, *NOT_LIVE])
def test_funds_are_disbursed_only_between_signing_and_the_end(
    client: TestClient, session: Session, status: ProjectStatus
) -> None:
    world = make_world(session, status=status)
    r = disburse(client, world, "5")
    if status in SIGNED_LIVE:
        assert r.status_code == 201, r.text
    else:
        assert_problem(r, 409, "project_not_running")
        assert stored_disbursed(session, world) == Decimal("0.00")
