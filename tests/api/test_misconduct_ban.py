"""A project that fails for misconduct bans its performer's organisation from bidding for
MISCONDUCT_BAN_YEARS years (403 `organization_banned`); its other rights stay as they were."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import db
from app.config import get_settings
from app.models import AuditEvent, Challenge, Notification, Organization, ProjectStatus, User
from app.schemas.bid import BidCreate
from app.services.acceptance import add_years
from tests.factories import make_challenge, make_user
from tests.problems import assert_problem, auth
from tests.project_factories import World, make_world

API = "/api/v1"
# Tuesday 1 December 2026, 10:00 in China.
FAILED_AT = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
MISCONDUCT = {
    "indicators": [{"name": "纯度", "measured": "99.1", "passed": False}],
    "verdict": "fail",
    "failure_kind": "misconduct",
    "comment": "检测数据系伪造，并挪用项目经费",
}


def ban_years(monkeypatch: pytest.MonkeyPatch, years: str) -> None:
    monkeypatch.setenv("MISCONDUCT_BAN_YEARS", years)
    get_settings.cache_clear()  # the conftest clears it again after the test


def at(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    monkeypatch.setattr(db, "utcnow", lambda: moment)


def fail(client: TestClient, world: World, body: dict[str, Any] = MISCONDUCT) -> None:
    r = client.post(
        f"{API}/projects/{world.project.id}/acceptance", headers=auth(world.bureau), json=body
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "failed"


def open_challenge(session: Session, world: World, now: datetime) -> Challenge:
    """A challenge published at `now` (the moved clock), open for a month."""
    challenge = make_challenge(session, owner=world.owner, title="玉米芯综合利用")
    challenge.deadline = now + timedelta(days=30)
    challenge.published_at = now
    session.flush()
    return challenge


def bid_body(challenge: Challenge) -> dict[str, Any]:
    body: dict[str, Any] = {
        "approach": "秸秆与玉米芯分级利用",
        "team": "李教授团队",
        "budget": "80.00",
        "duration_months": 12,
    }
    if "indicators" in BidCreate.model_fields:  # bids promise every indicator (expert review)
        body["indicators"] = [
            {"name": i["name"], "promised": i["target"]} for i in challenge.indicators
        ]
    return body


def bid(client: TestClient, challenge: Challenge, user: User) -> Any:
    return client.post(
        f"{API}/challenges/{challenge.id}/bids", headers=auth(user), json=bid_body(challenge)
    )


def banned_until(session: Session, organization_id: int) -> datetime | None:
    organization = session.get(Organization, organization_id, populate_existing=True)
    assert organization is not None
    return organization.banned_until


def test_misconduct_bans_the_performer_for_three_years_audited_and_told(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(session, status=ProjectStatus.acceptance_requested)
    at(monkeypatch, FAILED_AT)
    fail(client, world)
    until = datetime(2029, 12, 1, 2, 0, tzinfo=UTC)
    assert banned_until(session, world.performer.organization_id) == until
    [event] = session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "organization.ban",
            AuditEvent.object_id == world.performer.organization_id,
        )
    ).all()
    assert event.object_type == "organization"
    assert event.actor_id == world.bureau.id
    assert event.before == {"banned_until": None}
    assert event.after == {"banned_until": until.isoformat()}
    messages = session.scalars(
        select(Notification.message).where(Notification.user_id == world.performer.id)
    ).all()
    assert any("2029年12月1日" in m for m in messages), messages
    # The rival and the owner are not banned.
    assert banned_until(session, world.rival.organization_id) is None
    assert banned_until(session, world.owner.organization_id) is None


def test_a_banned_organisation_cannot_bid_until_its_ban_ends(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(session, status=ProjectStatus.acceptance_requested)
    colleague = make_user(session, organization=world.performer.organization)
    at(monkeypatch, FAILED_AT)
    fail(client, world)

    day_before = datetime(2029, 11, 30, 2, 0, tzinfo=UTC)
    at(monkeypatch, day_before)
    challenge = open_challenge(session, world, day_before)
    for user in (world.performer, colleague):
        problem = assert_problem(bid(client, challenge, user), 403, "organization_banned")
        assert "2029年12月1日" in problem["detail"]
    assert bid(client, challenge, world.rival).status_code == 201  # only the offender

    after = datetime(2029, 12, 1, 2, 0, 1, tzinfo=UTC)
    at(monkeypatch, after)
    r = bid(client, challenge, world.performer)
    assert r.status_code == 201, r.text


def test_a_banned_organisation_keeps_its_other_rights(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(session, status=ProjectStatus.acceptance_requested)
    at(monkeypatch, FAILED_AT)
    fail(client, world)
    performer = auth(world.performer)
    r = client.post(
        f"{API}/capabilities",
        headers=performer,
        json={"title": "先进陶瓷团队", "description": "氮化硼", "tags": []},
    )
    assert r.status_code == 201, r.text
    assert client.get(f"{API}/projects/{world.project.id}", headers=performer).status_code == 200
    assert client.get(f"{API}/challenges", headers=performer).status_code == 200


def test_a_tolerated_failure_bans_nobody(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(session, status=ProjectStatus.acceptance_requested)
    at(monkeypatch, FAILED_AT)
    fail(client, world, {**MISCONDUCT, "failure_kind": "tolerated"})
    assert banned_until(session, world.performer.organization_id) is None
    challenge = open_challenge(session, world, FAILED_AT)
    assert bid(client, challenge, world.performer).status_code == 201


@pytest.mark.parametrize(("years", "until"), [("5", datetime(2031, 12, 1, 2, 0, tzinfo=UTC))])
def test_the_ban_lasts_the_configured_years(
    client: TestClient,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
    years: str,
    until: datetime,
) -> None:
    ban_years(monkeypatch, years)
    world = make_world(session, status=ProjectStatus.acceptance_requested)
    at(monkeypatch, FAILED_AT)
    fail(client, world)
    assert banned_until(session, world.performer.organization_id) == until


def test_zero_ban_years_means_no_ban(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    ban_years(monkeypatch, "0")
    world = make_world(session, status=ProjectStatus.acceptance_requested)
    at(monkeypatch, FAILED_AT)
    fail(client, world)
    assert banned_until(session, world.performer.organization_id) is None
    assert (
        session.scalars(select(AuditEvent).where(AuditEvent.action == "organization.ban")).all()
        == []
    )
    challenge = open_challenge(session, world, FAILED_AT)
    assert bid(client, challenge, world.performer).status_code == 201


def test_a_ban_from_29_february_ends_on_28_february(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(session, status=ProjectStatus.acceptance_requested)
    # 29 February 2028, 07:00 in China (still 28 February in UTC).
    at(monkeypatch, datetime(2028, 2, 28, 23, 0, tzinfo=UTC))
    fail(client, world)
    assert banned_until(session, world.performer.organization_id) == datetime(
        2031, 2, 27, 23, 0, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("moment", "years", "later"),
    [
        (datetime(2028, 2, 29, 2, 0, tzinfo=UTC), 3, datetime(2031, 2, 28, 2, 0, tzinfo=UTC)),
        (datetime(2028, 2, 29, 2, 0, tzinfo=UTC), 4, datetime(2032, 2, 29, 2, 0, tzinfo=UTC)),
        # 1 March, 01:00 in China is still 29 February in UTC: the China date counts.
        (datetime(2028, 2, 29, 17, 0, tzinfo=UTC), 3, datetime(2031, 2, 28, 17, 0, tzinfo=UTC)),
        (datetime(2026, 12, 1, 2, 0, tzinfo=UTC), 3, datetime(2029, 12, 1, 2, 0, tzinfo=UTC)),
    ],
)
def test_years_later_is_the_same_china_time_or_28_february(
    moment: datetime, years: int, later: datetime
) -> None:
    assert add_years(moment, years) == later


def test_a_longer_ban_already_running_is_kept(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(session, status=ProjectStatus.acceptance_requested)
    longer = datetime(2035, 1, 1, tzinfo=UTC)
    world.performer.organization.banned_until = longer
    session.flush()
    at(monkeypatch, FAILED_AT)
    fail(client, world)
    assert banned_until(session, world.performer.organization_id) == longer
