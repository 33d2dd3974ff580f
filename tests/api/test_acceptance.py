"""Acceptance (验收): the performer's request, the bureau's record of every indicator and its
verdict — pass, rectify once within three months, or fail — with the audit of each step."""

from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import db
from app.models import AuditEvent, Notification, NotificationKind, Project, ProjectStatus, User
from app.services.acceptance import add_months
from tests.problems import assert_problem, auth
from tests.project_factories import ROLES, World, make_world

API = "/api/v1"
S = ProjectStatus
# Tuesday 1 December 2026, 10:00 in China.
VERDICT_DAY = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
PURITY = {"name": "纯度", "measured": "99.996", "passed": True}
DIAMETER = {"name": "直径", "target": "≥300", "unit": "mm", "promised": "≥320"}


def at(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    monkeypatch.setattr(db, "utcnow", lambda: moment)


def request(client: TestClient, world: World, user: User | None = None) -> Any:
    return client.post(
        f"{API}/projects/{world.project.id}/acceptance-request",
        headers=auth(world.performer if user is None else user),
    )


def decide(client: TestClient, world: World, body: dict[str, Any], user: User | None = None) -> Any:
    return client.post(
        f"{API}/projects/{world.project.id}/acceptance",
        headers=auth(world.bureau if user is None else user),
        json=body,
    )


def verdict(verdict: str, *indicators: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"indicators": list(indicators or [PURITY]), "verdict": verdict, **extra}


def stored(session: Session, world: World) -> Project:
    project = session.get(Project, world.project.id, populate_existing=True)
    assert project is not None
    return project


def events(session: Session, project_id: int, action: str) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.object_id == project_id, AuditEvent.action == action)
            .order_by(AuditEvent.id)
        )
    )


def two_indicators(session: Session, world: World) -> None:
    world.project.indicators = [*world.project.indicators, DIAMETER]
    session.flush()


# Permissions


# What each role gets: the performer requests, the bureau decides; the owner and the bureau
# see the project (403), the others do not (404).
REQUEST_ANSWERS = {
    "anonymous": (401, "not_authenticated"),
    "owner": (403, "not_project_party"),
    "other_enterprise": (404, "project_not_found"),
    "performer": (200, None),
    "rival": (404, "project_not_found"),
    "expert": (404, "project_not_found"),
    "other_expert": (404, "project_not_found"),
    "bureau": (403, "not_project_party"),
}
VERDICT_ANSWERS = {
    **REQUEST_ANSWERS,
    "performer": (403, "not_project_party"),
    "bureau": (200, None),
}


def test_the_tables_name_every_role() -> None:
    assert set(REQUEST_ANSWERS) == set(VERDICT_ANSWERS) == set(ROLES)


@pytest.mark.parametrize("role", ROLES)
def test_only_the_performer_requests_acceptance(
    client: TestClient, session: Session, role: str
) -> None:
    world = make_world(session)
    r = client.post(
        f"{API}/projects/{world.project.id}/acceptance-request", headers=auth(world.role(role))
    )
    status, code = REQUEST_ANSWERS[role]
    if code is None:
        assert r.status_code == status, r.text
        assert r.json()["status"] == "acceptance_requested"
    else:
        assert_problem(r, status, code)
        assert stored(session, world).status is S.in_progress


@pytest.mark.parametrize("role", ROLES)
def test_only_the_bureau_gives_the_verdict(client: TestClient, session: Session, role: str) -> None:
    world = make_world(session, status=S.acceptance_requested)
    r = client.post(
        f"{API}/projects/{world.project.id}/acceptance",
        headers=auth(world.role(role)),
        json=verdict("pass"),
    )
    status, code = VERDICT_ANSWERS[role]
    if code is None:
        assert r.status_code == status, r.text
        assert r.json()["status"] == "completed"
    else:
        assert_problem(r, status, code)
        assert stored(session, world).status is S.acceptance_requested


def test_a_project_that_does_not_exist_is_404_for_the_bureau(
    client: TestClient, session: Session
) -> None:
    world = make_world(session)
    r = client.post(f"{API}/projects/999999/acceptance", headers=auth(world.bureau), json={})
    assert r.status_code == 422  # the body is checked first
    r = client.post(
        f"{API}/projects/999999/acceptance", headers=auth(world.bureau), json=verdict("pass")
    )
    assert_problem(r, 404, "project_not_found")


# The request


def test_the_first_request_moves_to_acceptance_requested_and_tells_enterprise_and_bureau(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(session)
    at(monkeypatch, VERDICT_DAY)
    r = request(client, world)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "acceptance_requested"
    project = stored(session, world)
    assert project.acceptance_requests == 1
    assert project.acceptance_requested_at == VERDICT_DAY
    [event] = events(session, project.id, "project.request_acceptance")
    assert (event.before, event.after) == (
        {"status": "in_progress"},
        {"status": "acceptance_requested"},
    )
    assert event.actor_id == world.performer.id
    told = set(
        session.scalars(
            select(Notification.user_id).where(
                Notification.object_id == project.id,
                Notification.kind == NotificationKind.acceptance_requested,
            )
        )
    )
    assert world.owner.id in told
    assert world.bureau.id in told
    assert world.performer.id not in told


@pytest.mark.parametrize(
    "status", [S.publicity, S.signing, S.acceptance_requested, S.completed, S.failed, S.terminated]
)
def test_acceptance_may_be_requested_only_while_running_or_rectifying(
    client: TestClient, session: Session, status: ProjectStatus
) -> None:
    world = make_world(session, status=status)
    assert_problem(request(client, world), 409, "invalid_project_transition")
    assert stored(session, world).acceptance_requests == 0


# The verdict: the record of every indicator


def test_a_pass_stores_the_measured_chain_and_audits_the_record(
    client: TestClient, session: Session
) -> None:
    world = make_world(session, status=S.acceptance_requested)
    r = decide(client, world, verdict("pass", comment="各项指标均达到任务书要求"))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "completed"
    project = stored(session, world)
    assert project.indicators == [
        {
            "name": "纯度",
            "target": "≥99.99",
            "unit": "%",
            "promised": "≥99.995",
            "measured": "99.996",
            "passed": True,
            "waiver": None,
        }
    ]
    assert project.acceptance_comment == "各项指标均达到任务书要求"
    assert project.ended_at is not None
    assert project.failure_kind is None
    [status] = events(session, project.id, "project.complete")
    assert (status.before, status.after) == (
        {"status": "acceptance_requested"},
        {"status": "completed"},
    )
    [record] = events(session, project.id, "project.acceptance")
    assert record.actor_id == world.bureau.id
    assert record.before is not None
    assert record.after is not None
    assert record.before["indicators"][0]["measured"] is None
    assert record.after["indicators"][0]["measured"] == "99.996"
    assert record.after["verdict"] == "pass"
    assert record.after["acceptance_comment"] == "各项指标均达到任务书要求"
    told = set(
        session.scalars(
            select(Notification.user_id).where(
                Notification.object_id == project.id,
                Notification.kind == NotificationKind.acceptance_decided,
            )
        )
    )
    assert {world.owner.id, world.performer.id} <= told
    assert world.bureau.id not in told


def test_a_pass_with_an_indicator_not_met_is_refused_naming_it(
    client: TestClient, session: Session
) -> None:
    world = make_world(session, status=S.acceptance_requested)
    two_indicators(session, world)
    body = verdict("pass", PURITY, {"name": "直径", "measured": "280", "passed": False})
    problem = assert_problem(decide(client, world, body), 422, "indicators_not_met")
    assert "直径" in problem["detail"]
    assert "纯度" not in problem["detail"]
    assert problem["errors"][0]["loc"] == ["body", "verdict"]
    project = stored(session, world)
    assert project.status is S.acceptance_requested
    assert project.indicators[1].get("measured") is None  # nothing stored


def test_a_pass_with_a_failed_indicator_waived_in_writing_completes(
    client: TestClient, session: Session
) -> None:
    world = make_world(session, status=S.acceptance_requested)
    two_indicators(session, world)
    reason = "国家标准调整，经专家组论证该指标不再适用"
    body = verdict(
        "pass",
        PURITY,
        {"name": "直径", "measured": "280", "passed": False},
        waivers=[{"name": "直径", "reason": reason}],
    )
    r = decide(client, world, body)
    assert r.status_code == 200, r.text
    project = stored(session, world)
    assert project.status is S.completed
    diameter = project.indicators[1]
    assert (diameter["measured"], diameter["passed"], diameter["waiver"]) == ("280", False, reason)
    assert project.indicators[0]["waiver"] is None


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_waiver_needs_a_written_reason(client: TestClient, session: Session, reason: str) -> None:
    world = make_world(session, status=S.acceptance_requested)
    body = verdict(
        "pass",
        {"name": "纯度", "measured": "99.9", "passed": False},
        waivers=[{"name": "纯度", "reason": reason}],
    )
    problem = assert_problem(decide(client, world, body), 422, "validation_error")
    assert problem["errors"][0]["loc"] == ["body", "waivers", 0, "reason"]


def test_every_indicator_must_be_recorded(client: TestClient, session: Session) -> None:
    world = make_world(session, status=S.acceptance_requested)
    two_indicators(session, world)
    problem = assert_problem(
        decide(client, world, verdict("fail", failure_kind="tolerated")), 422, "missing_indicators"
    )
    assert "直径" in problem["detail"]
    assert problem["errors"][0]["loc"] == ["body", "indicators"]
    problem = assert_problem(
        decide(client, world, {"indicators": [], "verdict": "pass"}), 422, "missing_indicators"
    )
    assert "纯度" in problem["detail"]
    assert "直径" in problem["detail"]
    assert stored(session, world).status is S.acceptance_requested


@pytest.mark.parametrize("field", ["indicators", "waivers"])
def test_an_unknown_indicator_is_refused(client: TestClient, session: Session, field: str) -> None:
    world = make_world(session, status=S.acceptance_requested)
    body = verdict("pass")
    if field == "indicators":
        body["indicators"] = [PURITY, {"name": "硬度", "measured": "9", "passed": True}]
    else:
        body["waivers"] = [{"name": "硬度", "reason": "不适用"}]
    problem = assert_problem(decide(client, world, body), 422, "unknown_indicators")
    assert "硬度" in problem["detail"]
    assert problem["errors"][0]["loc"] == ["body", field]


@pytest.mark.parametrize("field", ["indicators", "waivers"])
def test_an_indicator_given_twice_is_refused(
    client: TestClient, session: Session, field: str
) -> None:
    world = make_world(session, status=S.acceptance_requested)
    body = verdict("pass")
    if field == "indicators":
        body["indicators"] = [PURITY, {**PURITY, "passed": False}]
    else:
        body["waivers"] = [{"name": "纯度", "reason": "一"}, {"name": "纯度", "reason": "二"}]
    problem = assert_problem(decide(client, world, body), 422, "duplicate_indicator")
    assert "纯度" in problem["detail"]
    assert problem["errors"][0]["loc"] == ["body", field]


@pytest.mark.parametrize(
    "body",
    [
        {"verdict": "pass"},
        {"indicators": [PURITY], "verdict": "accept"},
        {"indicators": [PURITY], "verdict": "fail", "failure_kind": "bad_luck"},
        {"indicators": [{"name": "纯度", "measured": "", "passed": True}], "verdict": "pass"},
        {"indicators": [{"name": "纯度", "measured": "1"}], "verdict": "pass"},
        {"indicators": [PURITY], "verdict": "pass", "status": "completed"},
    ],
)
def test_a_malformed_verdict_is_422(
    client: TestClient, session: Session, body: dict[str, Any]
) -> None:
    world = make_world(session, status=S.acceptance_requested)
    assert_problem(decide(client, world, body), 422, "validation_error")
    assert stored(session, world).status is S.acceptance_requested


@pytest.mark.parametrize(
    "status",
    [S.publicity, S.signing, S.in_progress, S.completed, S.failed, S.terminated, S.revoked],
)
def test_a_verdict_needs_a_pending_request(
    client: TestClient, session: Session, status: ProjectStatus
) -> None:
    world = make_world(session, status=status)
    assert_problem(decide(client, world, verdict("pass")), 409, "invalid_project_transition")
    assert stored(session, world).indicators[0]["measured"] is None


# Fail


def test_a_fail_needs_its_kind(client: TestClient, session: Session) -> None:
    world = make_world(session, status=S.acceptance_requested)
    problem = assert_problem(decide(client, world, verdict("fail")), 422, "validation_error")
    assert problem["errors"][0]["loc"] == ["body", "failure_kind"]
    assert stored(session, world).status is S.acceptance_requested


@pytest.mark.parametrize("kind", ["pass", "rectify"])
def test_a_failure_kind_belongs_only_to_a_fail(
    client: TestClient, session: Session, kind: str
) -> None:
    world = make_world(session, status=S.acceptance_requested)
    body = verdict(kind, failure_kind="tolerated")
    problem = assert_problem(decide(client, world, body), 422, "validation_error")
    assert problem["errors"][0]["loc"] == ["body", "failure_kind"]


def test_a_tolerated_failure_ends_the_project_without_penalty(
    client: TestClient, session: Session
) -> None:
    world = make_world(session, status=S.acceptance_requested)
    body = verdict(
        "fail",
        {"name": "纯度", "measured": "99.2", "passed": False},
        failure_kind="tolerated",
        comment="技术路线探索充分、过程记录完整，属容错范围",
    )
    r = decide(client, world, body)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "failed"
    project = stored(session, world)
    assert project.failure_kind is not None
    assert project.failure_kind.value == "tolerated"
    assert project.acceptance_comment == "技术路线探索充分、过程记录完整，属容错范围"
    assert project.indicators[0]["passed"] is False
    session.refresh(world.performer.organization)
    assert world.performer.organization.banned_until is None
    [event] = events(session, project.id, "project.fail")
    assert event.after == {"status": "failed"}
    assert events(session, world.performer.organization_id, "organization.ban") == []


# Rectify: once, three months, a second request


@pytest.mark.parametrize(
    ("day", "by"),
    [
        (date(2026, 12, 1), date(2027, 3, 1)),
        (date(2026, 11, 30), date(2027, 2, 28)),
        (date(2027, 11, 30), date(2028, 2, 29)),
        (date(2026, 10, 31), date(2027, 1, 31)),
        (date(2026, 3, 31), date(2026, 6, 30)),
    ],
)
def test_three_months_later_is_the_same_day_or_the_end_of_the_month(day: date, by: date) -> None:
    assert add_months(day, 3) == by


def test_a_rectify_gives_three_months_from_the_verdicts_china_date(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(session, status=S.acceptance_requested)
    # 30 November, 20:00 UTC is already 1 December in China.
    at(monkeypatch, datetime(2026, 11, 30, 20, 0, tzinfo=UTC))
    body = verdict("rectify", {"name": "纯度", "measured": "99.98", "passed": False})
    r = decide(client, world, body)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "rectification"
    project = stored(session, world)
    assert project.rectify_by == date(2027, 3, 1)
    assert project.ended_at is None
    [record] = events(session, project.id, "project.acceptance")
    assert record.before is not None
    assert record.after is not None
    assert (record.before["rectify_by"], record.after["rectify_by"]) == (None, "2027-03-01")
    assert record.after["verdict"] == "rectify"


def test_after_a_rectification_the_second_request_leads_to_pass_or_fail_only(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(session)
    at(monkeypatch, VERDICT_DAY)
    assert request(client, world).status_code == 200
    failing = {"name": "纯度", "measured": "99.98", "passed": False}
    assert decide(client, world, verdict("rectify", failing)).status_code == 200
    # The last day of the rectification, 23:00 in China: still in time.
    at(monkeypatch, datetime(2027, 3, 1, 15, 0, tzinfo=UTC))
    r = request(client, world)
    assert r.status_code == 200, r.text
    project = stored(session, world)
    assert (project.status, project.acceptance_requests) == (S.acceptance_requested, 2)
    assert project.acceptance_requested_at == datetime(2027, 3, 1, 15, 0, tzinfo=UTC)
    assert [e.before for e in events(session, project.id, "project.request_acceptance")] == [
        {"status": "in_progress"},
        {"status": "rectification"},
    ]
    assert_problem(decide(client, world, verdict("rectify", failing)), 409, "rectification_used")
    r = decide(client, world, verdict("pass"))
    assert r.status_code == 200, r.text
    project = stored(session, world)
    assert project.status is S.completed
    assert project.indicators[0]["measured"] == "99.996"
    assert len(events(session, project.id, "project.acceptance")) == 2


def test_a_lapsed_rectification_cannot_be_requested_and_the_bureau_fails_it(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(session, status=S.acceptance_requested)
    at(monkeypatch, VERDICT_DAY)
    failing = {"name": "纯度", "measured": "99.98", "passed": False}
    assert decide(client, world, verdict("rectify", failing)).status_code == 200
    # Before the date: the performer may still ask, so the bureau may not fail it yet.
    body = verdict("fail", failing, failure_kind="tolerated", comment="逾期未整改")
    assert_problem(decide(client, world, body), 409, "rectification_pending")
    # 2 March 2027, 00:30 in China: the rectification's last day (1 March) is over.
    at(monkeypatch, datetime(2027, 3, 1, 16, 30, tzinfo=UTC))
    problem = assert_problem(request(client, world), 409, "rectification_overdue")
    assert "2027-03-01" in problem["detail"]
    assert stored(session, world).status is S.rectification  # reads and refusals write nothing
    # Nothing but a fail (or a termination) ends it now.
    assert_problem(decide(client, world, verdict("pass")), 409, "invalid_project_transition")
    r = decide(client, world, body)
    assert r.status_code == 200, r.text
    project = stored(session, world)
    assert project.status is S.failed
    [event] = events(session, project.id, "project.fail")
    assert event.before == {"status": "rectification"}
