"""Abuse limits: failed sign-ins, registrations and previews answer 429 with `Retry-After`."""

import asyncio
import itertools
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import limits.storage.memory
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy.orm import Session

import app.ratelimit
from app.config import Settings, get_settings
from app.errors import TooManyRequests
from app.models import OrganizationKind
from app.ratelimit import PreviewSlots, reset_abuse_limits
from app.schemas.organization import credit_code_check_char
from app.services import accounts
from tests.factories import PASSWORD, headers, make_user
from tests.problems import Response, assert_problem

TOKEN = "/api/v1/auth/token"
REGISTER = "/api/v1/organizations/register"
PREVIEW = "/api/v1/matching/preview"
_seq = itertools.count(1)

Configure = Callable[..., None]


class FakeClock:
    """The limiter's clock (the `limits` memory storage and Retry-After read `time.time()`)."""

    def __init__(self) -> None:
        self.now = time.time()

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch) -> Iterator[Configure]:
    """Set limit settings for this test (fresh counts); the defaults come back afterwards."""

    def apply(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name.upper(), value)
        get_settings.cache_clear()
        reset_abuse_limits()

    yield apply
    monkeypatch.undo()
    get_settings.cache_clear()
    reset_abuse_limits()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(limits.storage.memory, "time", fake)
    monkeypatch.setattr(app.ratelimit, "time", fake)
    return fake


def from_address(app: FastAPI, host: str) -> TestClient:
    """A client whose requests come from `host` (the test client's own is `testclient`)."""
    return TestClient(app, client=(host, 50000), raise_server_exceptions=False)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> Response:
    return client.post(TOKEN, data={"username": username, "password": password})


def assert_limited(response: Response, code: str = "rate_limited") -> int:
    """A 429 problem with a Chinese detail and a Retry-After in whole seconds; returns it."""
    body = assert_problem(response, 429, code)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["detail"]), body
    retry_after = int(response.headers["retry-after"])
    assert retry_after >= 1
    return retry_after


def registration() -> dict[str, Any]:
    n = next(_seq)
    body = f"91211304MC{n:07d}"  # apart from other tests' credit codes
    return {
        "organization": {
            "kind": "enterprise",
            "name": f"限流测试单位{n}",
            "credit_code": body + credit_code_check_char(body),
            "region": "211302",
        },
        "user": {
            "username": f"limit_user_{n}_{uuid.uuid4().hex[:6]}",
            "password": "Kq7!vT2m-" + uuid.uuid4().hex,
            "display_name": "李娜",
        },
    }


# --- sign-in -----------------------------------------------------------------------------


def test_failed_sign_ins_from_one_address_get_429_with_retry_after(
    client: TestClient, session: Session, app: FastAPI, configure: Configure
) -> None:
    configure(rate_limit_signin_address="3/minute", rate_limit_signin_username="100/minute")
    user = make_user(session)
    session.commit()

    for n in range(3):
        assert_problem(sign_in(client, f"nobody{n}"), 401, "invalid_credentials")
    refused = sign_in(client, user.username)  # the right password: refused all the same

    assert 1 <= assert_limited(refused) <= 60
    assert sign_in(from_address(app, "192.0.2.7"), user.username).status_code == 200


def test_refused_sign_in_does_not_hash_the_password(
    client: TestClient, configure: Configure, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(rate_limit_signin_address="2/minute")
    for _ in range(2):
        sign_in(client, "nobody", "wrong-password-123")
    hashed: list[str] = []
    monkeypatch.setattr(accounts, "verify_password", lambda h, p: hashed.append(p) or False)

    assert_limited(sign_in(client, "nobody", "wrong-password-123"))
    assert hashed == []


def test_failed_sign_ins_for_one_username_get_429_from_any_address(
    client: TestClient, session: Session, app: FastAPI, configure: Configure
) -> None:
    configure(rate_limit_signin_address="100/minute", rate_limit_signin_username="3/minute")
    target, other = make_user(session), make_user(session)
    session.commit()
    # Spelled as sign-in reads them, these are one name.
    for typed in (target.username, target.username.upper(), f" {target.username} "):
        assert_problem(sign_in(client, typed, "wrong-password-123"), 401, "invalid_credentials")

    assert_limited(sign_in(from_address(app, "198.51.100.9"), target.username))
    assert sign_in(client, other.username).status_code == 200  # the address is not limited


def test_successful_sign_ins_do_not_use_up_the_address_allowance(
    client: TestClient, session: Session, configure: Configure
) -> None:
    configure(rate_limit_signin_address="3/minute", rate_limit_signin_username="3/minute")
    office = [make_user(session) for _ in range(4)]
    session.commit()

    for _ in range(3):  # many colleagues behind one address, each more than the limit
        for user in office:
            assert sign_in(client, user.username).status_code == 200
    for n in range(3):
        assert_problem(sign_in(client, f"typo{n}"), 401, "invalid_credentials")
    assert_limited(sign_in(client, office[0].username))


def test_a_window_that_passes_lets_the_client_in_again(
    client: TestClient, session: Session, configure: Configure, clock: FakeClock
) -> None:
    configure(rate_limit_signin_username="2/minute")
    user = make_user(session)
    session.commit()
    for _ in range(2):
        sign_in(client, user.username, "wrong-password-123")

    assert assert_limited(sign_in(client, user.username)) == 60
    clock.advance(45)
    assert assert_limited(sign_in(client, user.username)) == 15
    clock.advance(16)
    assert sign_in(client, user.username).status_code == 200


# --- registration ------------------------------------------------------------------------


def test_registration_is_limited_per_address(
    client: TestClient, app: FastAPI, configure: Configure
) -> None:
    configure(rate_limit_register="2/minute")
    first = registration()

    assert client.post(REGISTER, json=first).status_code == 201
    # Asking about a taken username counts too: that answer is what the limit protects.
    assert_problem(client.post(REGISTER, json=first), 409, "username_taken")
    assert_limited(client.post(REGISTER, json=registration()))
    assert from_address(app, "203.0.113.5").post(REGISTER, json=registration()).status_code == 201


# --- switched off ------------------------------------------------------------------------


def test_rate_limits_off_turns_every_limit_off(
    client: TestClient, session: Session, configure: Configure
) -> None:
    tight = {
        "rate_limit_signin_address": "1/minute",
        "rate_limit_signin_username": "1/minute",
        "rate_limit_register": "1/minute",
        "rate_limit_preview": "1/minute",
    }
    user = make_user(session)
    session.commit()
    preview = {"text": "热解氮化硼坩埚开裂", "target": "capabilities"}

    def attempts() -> list[int]:
        return [
            *(sign_in(client, "nobody", "wrong-password-123").status_code for _ in range(2)),
            *(client.post(REGISTER, json=registration()).status_code for _ in range(2)),
            *(
                client.post(PREVIEW, json=preview, headers=headers(user)).status_code
                for _ in range(2)
            ),
        ]

    configure(**tight, rate_limits="on")
    assert attempts() == [401, 429, 201, 429, 200, 429]
    configure(**tight, rate_limits="off")
    assert attempts() == [401, 401, 201, 201, 200, 200]


# --- preview -----------------------------------------------------------------------------


def test_unverified_users_preview_at_most_2000_characters(
    client: TestClient, session: Session
) -> None:
    unverified = make_user(session, kind=OrganizationKind.university, verified=False)
    verified = make_user(session, kind=OrganizationKind.university)
    long_text = "热解氮化硼坩埚" * 300  # 2,100 characters

    refused = client.post(PREVIEW, json={"text": long_text}, headers=headers(unverified))

    body = assert_problem(refused, 422, "validation_error")
    assert body["errors"][0]["loc"] == ["body", "text"]
    assert "2000" in body["detail"]
    assert (
        client.post(
            PREVIEW, json={"text": long_text[:2000]}, headers=headers(unverified)
        ).status_code
        == 200
    )
    assert (
        client.post(PREVIEW, json={"text": long_text}, headers=headers(verified)).status_code == 200
    )


def test_previews_are_limited_per_user(
    client: TestClient, session: Session, configure: Configure
) -> None:
    configure(rate_limit_preview="2/minute")
    busy, other = make_user(session), make_user(session)
    body = {"text": "热解氮化硼坩埚开裂，求化学气相沉积团队"}

    for _ in range(2):
        assert client.post(PREVIEW, json=body, headers=headers(busy)).status_code == 200
    assert 1 <= assert_limited(client.post(PREVIEW, json=body, headers=headers(busy))) <= 60
    assert client.post(PREVIEW, json=body, headers=headers(other)).status_code == 200


def test_a_preview_waits_for_a_free_slot_and_gives_up_after_the_wait() -> None:
    async def scenario() -> None:
        slots = PreviewSlots(1, wait=5)
        inside = asyncio.Event()
        leave = asyncio.Event()

        async def holder() -> None:
            async with slots.slot():
                inside.set()
                await leave.wait()

        first = asyncio.create_task(holder())
        await inside.wait()
        waiting = slots.slot()
        second = asyncio.create_task(waiting.__aenter__())
        await asyncio.sleep(0)
        assert not second.done()  # waiting for the slot
        leave.set()
        await first
        await asyncio.wait_for(second, 5)  # got it once the first let go

        slots.wait = 0  # the second holds the slot: a third is refused at once
        with pytest.raises(TooManyRequests) as refused:
            async with slots.slot():
                pass
        assert refused.value.code == "preview_busy"
        assert refused.value.retry_after == 1
        await waiting.__aexit__(None, None, None)

    asyncio.run(scenario())


def test_preview_slots_refuse_after_a_short_wait() -> None:
    async def scenario() -> None:
        slots = PreviewSlots(2, wait=0.01)
        async with slots.slot(), slots.slot():
            with pytest.raises(TooManyRequests) as refused:
                async with slots.slot():
                    pass
        assert refused.value.code == "preview_busy"
        async with slots.slot():  # both were released
            pass

    asyncio.run(scenario())


# --- settings ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["often", "0/minute", "20/fortnight", ""])
def test_a_malformed_limit_setting_is_refused_at_start(value: str) -> None:
    with pytest.raises(ValidationError, match="RATE_LIMIT_SIGNIN_USERNAME: must be a rate"):
        Settings(rate_limit_signin_username=value)


def test_limit_settings_take_several_rates() -> None:
    assert Settings(rate_limit_preview="5/minute;50/hour").rate_limit_preview == "5/minute;50/hour"
