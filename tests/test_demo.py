"""The demo data: two projects of the past walked to their end, one running now, all through
the services, read back through the API."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app import db, demo
from app.services import audit
from tests.factories import make_user

Json = dict[str, Any]


@pytest.fixture
def sign_ins(session: Session) -> list[tuple[str, str, str]]:
    return demo.load(session)


@pytest.fixture
def token(client: TestClient, sign_ins: list[tuple[str, str, str]]) -> Any:
    """Headers of a demo user, signed in with the published demo password."""
    cache: dict[str, dict[str, str]] = {}

    def sign_in(username: str) -> dict[str, str]:
        if username not in cache:
            answer = client.post(
                "/api/v1/auth/token",
                data={"username": username, "password": demo.DEMO_PASSWORD},
            )
            assert answer.status_code == 200, answer.text
            cache[username] = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        return cache[username]

    return sign_in


def _get(client: TestClient, path: str, headers: dict[str, str], **params: Any) -> Any:
    answer = client.get(f"/api/v1{path}", headers=headers, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _only_project(client: TestClient, token: Any, status: str) -> Json:
    page = _get(client, "/projects", token("bureau"), status=status)
    assert page["total"] == 1, page
    project: Json = page["items"][0]
    return project


def _audit(client: TestClient, token: Any, object_type: str, object_id: int) -> list[Json]:
    page = _get(
        client,
        "/audit-events",
        token("bureau"),
        object_type=object_type,
        object_id=object_id,
        limit=100,
    )
    assert page["total"] <= 100
    return list(reversed(page["items"]))  # oldest first


def test_sign_ins_include_the_two_experts_and_every_one_signs_in(
    sign_ins: list[tuple[str, str, str]], token: Any
) -> None:
    usernames = {username for _, username, _ in sign_ins}
    assert {("expert", "expert_zhang"), ("expert", "expert_li")} <= {
        (role, username) for role, username, _ in sign_ins
    }
    for username in usernames:
        token(username)


def test_the_load_puts_the_clock_back(session: Session) -> None:
    clock = db.utcnow
    demo.load(session)
    assert db.utcnow is clock


def test_created_at_defaults_follow_a_moved_clock(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What made the demo's past real: rows and audit events are dated by app.db.utcnow.
    moment = datetime(2025, 6, 3, 2, 0, tzinfo=UTC)
    monkeypatch.setattr(db, "utcnow", lambda: moment)
    user = make_user(session)
    event = audit.record(
        session, actor=user, action="user.test", object_type="user", object_id=user.id
    )
    session.flush()
    assert (user.created_at, user.updated_at, event.created_at) == (moment, moment, moment)


def test_one_project_is_completed_with_every_indicator_measured_and_passed(
    client: TestClient, token: Any
) -> None:
    listed = _only_project(client, token, "completed")
    project = _get(client, f"/projects/{listed['id']}", token("lingyuan_steel"))

    assert project["status"] == "completed"
    assert project["indicators"]
    for indicator in project["indicators"]:
        assert indicator["promised"], indicator
        assert indicator["measured"], indicator
        assert indicator["passed"] is True or indicator["waiver"], indicator
    assert {s["party"] for s in project["signatures"]} == {"enterprise", "performer", "bureau"}
    assert project["midterm_outcome"] == "pass"
    assert {m["status"] for m in project["milestones"]} == {"accepted"}
    # It happened in the past: awarded more than a year ago, ended before today.
    now = datetime.now(UTC)
    assert datetime.fromisoformat(project["created_at"]) < now - timedelta(days=365)
    assert datetime.fromisoformat(project["ended_at"]) < now - timedelta(days=7)


def test_one_project_failed_tolerated_with_a_comment_on_the_honest_effort(
    client: TestClient, token: Any
) -> None:
    listed = _only_project(client, token, "failed")
    project = _get(client, f"/projects/{listed['id']}", token("materials_inst"))

    assert project["failure_kind"] == "tolerated"
    assert "容错" in project["acceptance_comment"]
    assert any(indicator["passed"] is False for indicator in project["indicators"])
    assert all(indicator["measured"] for indicator in project["indicators"])


def test_every_project_disbursed_within_its_government_share(
    client: TestClient, token: Any
) -> None:
    page = _get(client, "/projects", token("bureau"), limit=100)
    assert {p["status"] for p in page["items"]} >= {"completed", "failed", "in_progress"}
    for project in page["items"]:
        funding = project["funding"]
        government, disbursed = Decimal(funding["government"]), Decimal(funding["disbursed"])
        assert Decimal(0) < disbursed <= government <= Decimal(funding["budget"]), funding
        tranches = _get(client, f"/projects/{project['id']}/disbursements", token("bureau"))
        assert sum(Decimal(t["amount"]) for t in tranches["items"]) == disbursed


def test_the_audit_log_has_every_transition_of_the_completed_project(
    client: TestClient, token: Any
) -> None:
    project = _only_project(client, token, "completed")
    events = _audit(client, token, "project", project["id"])

    transitions = [
        (e["before"]["status"], e["after"]["status"])
        for e in events
        if e["before"] and e["after"] and "status" in e["before"] and "status" in e["after"]
        if e["before"]["status"] != e["after"]["status"]
    ]
    assert transitions == [
        ("publicity", "signing"),
        ("signing", "in_progress"),
        ("in_progress", "acceptance_requested"),
        ("acceptance_requested", "completed"),
    ]
    actions = [e["action"] for e in events]
    assert actions[0] == "project.create"
    assert actions.count("project.sign") == 3
    assert actions.count("project.disburse") == 3
    assert {"project.midterm", "project.acceptance"} <= set(actions)
    # Dated as they happened, in order.
    moments = [e["created_at"] for e in events]
    assert moments == sorted(moments)

    objections = _get(client, f"/projects/{project['id']}/objections", token("bureau"))
    assert [o["status"] for o in objections["items"]] == ["dismissed"]
    rejected = [
        e
        for milestone in project["milestones"]
        for e in _audit(client, token, "milestone", milestone["id"])
        if e["action"] == "milestone.reject"
    ]
    assert len(rejected) == 1
    assert rejected[0]["reason"]


def test_the_ranking_of_each_walked_challenge_has_weighted_scores_of_both_experts(
    client: TestClient, token: Any
) -> None:
    for status in ("completed", "failed"):
        project = _only_project(client, token, status)
        ranking = _get(client, f"/challenges/{project['challenge_id']}/ranking", token("bureau"))
        bids = ranking["items"]
        assert len(bids) >= 2
        assert all(b["reviews"] == 2 and b["weighted_score"] for b in bids), bids
        assert bids[0]["id"] == project["bid_id"]  # the best scored bid was awarded
        assert {b["status"] for b in bids[1:]} == {"rejected"}

    reviewers = _get(client, f"/challenges/{project['challenge_id']}/reviewers", token("bureau"))[
        "items"
    ]
    affiliations = {r["display_name"]: r["organization_id"] for r in reviewers}
    assert len(affiliations) == 2
    assert None in affiliations.values()


def test_the_demo_users_have_notifications_and_something_upcoming(
    client: TestClient, token: Any
) -> None:
    for username in (
        "bureau",
        "lingyuan_steel",
        "pbn_materials",
        "grain_food",
        "liaoxi_univ",
        "north_agri",
        "materials_inst",
    ):
        notifications = _get(client, "/notifications", token(username))
        assert notifications["total"] > 0, username
    for username in ("grain_food", "north_agri", "bureau"):
        upcoming = _get(client, "/me/upcoming", token(username))
        assert any(item["kind"] == "milestone" and not item["overdue"] for item in upcoming)
    running = _only_project(client, token, "in_progress")
    due = [m for m in running["milestones"] if m["status"] == "planned"]
    assert due
    assert datetime.fromisoformat(due[0]["due_date"]).date() > datetime.now(UTC).date()


def test_the_demo_ships_the_plans_2026_targets(client: TestClient, token: Any) -> None:
    targets = _get(client, "/stats/targets/2026", token("lingyuan_steel"))
    awarded = {sector: t["awarded"] for sector, t in targets["sectors"].items()}
    assert awarded == {"agriculture": 4, "industry": 6, "services": 2}  # 12 a year, 二（二）6
    summary = _get(client, "/stats/summary", token("bureau"), year=2026)
    assert [t["sector"] for t in summary["targets"]] == ["agriculture", "industry", "services"]
    assert sum(t["awarded"]["target"] for t in summary["targets"]) == 12
