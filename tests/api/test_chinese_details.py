"""Every `detail` a person reads is Chinese, and names states by their Chinese labels."""

import re
from enum import StrEnum

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.errors import field_message
from app.models import (
    BidStatus,
    ChallengeStatus,
    OrganizationKind,
    OrganizationStatus,
    ProjectStatus,
)
from tests.factories import headers, make_bid, make_challenge, make_user
from tests.problems import assert_problem

API = "/api/v1"
CJK = re.compile(r"[\u4e00-\u9fff]")
STATUS_ENUMS: list[type[StrEnum]] = [ChallengeStatus, BidStatus, OrganizationStatus, ProjectStatus]
STATE_NAMES = {member.value for enum in STATUS_ENUMS for member in enum}


def assert_chinese(detail: str) -> None:
    """Chinese text that names no state by its machine value (`awarded`, `in_progress`...)."""
    assert CJK.search(detail), detail
    words = set(re.findall(r"[A-Za-z_]+", detail))
    assert words & STATE_NAMES == set(), detail


@pytest.mark.parametrize("enum", STATUS_ENUMS)
def test_every_state_has_a_chinese_label(enum: type[StrEnum]) -> None:
    labels = {member: member.label for member in enum}  # type: ignore[attr-defined]
    assert all(CJK.search(label) for label in labels.values()), labels
    assert len(set(labels.values())) == len(labels), "two states share a label"


def test_unknown_path_is_answered_in_chinese(client: TestClient) -> None:
    body = assert_problem(client.get(f"{API}/nothing-here"), 404, "not_found")
    assert_chinese(body["detail"])


def test_wrong_method_is_answered_in_chinese(client: TestClient) -> None:
    body = assert_problem(client.delete(f"{API}/challenges"), 405, "method_not_allowed")
    assert_chinese(body["detail"])


def test_a_form_that_cannot_be_parsed_is_answered_in_chinese(client: TestClient) -> None:
    answer = client.post(
        f"{API}/auth/token",
        content=b"--x\r\nContent-Disposition: form-data\r\n\r\nno name\r\n--x--\r\n",
        headers={"content-type": "multipart/form-data; boundary=x"},
    )
    body = assert_problem(answer, 400, "bad_request")
    assert_chinese(body["detail"])


def test_a_challenge_in_the_wrong_state_is_named_in_chinese(
    client: TestClient, session: Session
) -> None:
    owner = make_user(session)
    challenge = make_challenge(session, owner=owner, status=ChallengeStatus.awarded)
    answer = client.post(f"{API}/challenges/{challenge.id}/submit", headers=headers(owner))
    body = assert_problem(answer, 409, "invalid_transition")
    assert_chinese(body["detail"])
    assert ChallengeStatus.awarded.label in body["detail"]


def test_an_organisation_in_the_wrong_state_is_named_in_chinese(
    client: TestClient, session: Session
) -> None:
    staff = make_user(session, kind=OrganizationKind.bureau)
    member = make_user(session, kind=OrganizationKind.university)
    answer = client.post(
        f"{API}/organizations/{member.organization_id}/verify", headers=headers(staff)
    )
    body = assert_problem(answer, 409, "invalid_transition")
    assert_chinese(body["detail"])
    assert OrganizationStatus.verified.label in body["detail"]


def test_a_bid_in_the_wrong_state_is_named_in_chinese(client: TestClient, session: Session) -> None:
    owner = make_user(session)
    staff = make_user(session, kind=OrganizationKind.bureau)
    bidder = make_user(session, kind=OrganizationKind.university)
    challenge = make_challenge(session, owner=owner)
    bid = make_bid(session, challenge=challenge, bidder=bidder)
    answer = client.post(f"{API}/bids/{bid.id}/award", headers=headers(staff))
    body = assert_problem(answer, 409, "invalid_transition")
    assert_chinese(body["detail"])
    assert BidStatus.submitted.label in body["detail"]
    assert "award" not in body["detail"]  # the action is named in Chinese too


def test_a_closed_challenge_is_named_in_chinese_when_bids_are_judged(
    client: TestClient, session: Session
) -> None:
    owner = make_user(session)
    bidder = make_user(session, kind=OrganizationKind.university)
    challenge = make_challenge(session, owner=owner, status=ChallengeStatus.withdrawn)
    bid = make_bid(session, challenge=challenge, bidder=bidder)
    answer = client.post(f"{API}/bids/{bid.id}/shortlist", headers=headers(owner))
    body = assert_problem(answer, 409, "challenge_not_open")
    assert_chinese(body["detail"])
    assert ChallengeStatus.withdrawn.label in body["detail"]


def test_field_messages_are_chinese(client: TestClient) -> None:
    answer = client.post(
        f"{API}/organizations/register",
        json={
            "organization": {"kind": "university", "name": "辽西大学", "region": "000000"},
            "user": {"username": "ab", "display_name": "张三"},
        },
    )
    body = assert_problem(answer, 422, "validation_error")
    assert_chinese(body["detail"])
    by_field = {tuple(e["loc"]): e for e in body["errors"]}
    missing = by_field[("body", "user", "password")]
    assert (missing["type"], missing["msg"]) == ("missing", "缺少必填字段")
    region = by_field[("body", "organization", "region")]
    # Our own validator's text, without Pydantic's English "Value error, " in front.
    assert region["msg"].startswith("不是本系统受理的行政区划代码"), region
    for error in body["errors"]:
        assert CJK.search(error["msg"]), error


def test_a_bad_query_value_is_explained_in_chinese(client: TestClient) -> None:
    body = assert_problem(client.get(f"{API}/challenges?limit=0"), 422, "validation_error")
    (error,) = body["errors"]
    assert (error["type"], error["msg"]) == ("greater_than_equal", "应不小于 1")
    enum = assert_problem(client.get(f"{API}/challenges?status=open"), 422, "validation_error")
    assert enum["errors"][0]["msg"].startswith("应为以下值之一")


def test_a_field_message_without_its_context_or_translation_keeps_pydantics_text() -> None:
    english = "String should have at most 5 characters"
    assert field_message({"type": "string_too_long", "msg": english, "ctx": {}}) == english
    assert field_message({"type": "url_parsing", "msg": "Input should be a valid URL"}) == (
        "Input should be a valid URL"
    )
    assert field_message({"type": "string_too_long", "msg": english, "ctx": {"max_length": 5}}) == (
        "最多 5 个字符"
    )
