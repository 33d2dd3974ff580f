"""Challenges (榜单): creating, editing, and who sees which challenge in lists and details."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.models import ChallengeStatus, OrganizationKind, Sector, User
from tests.factories import headers, make_challenge, make_user
from tests.problems import assert_problem

S = ChallengeStatus
URL = "/api/v1/challenges"
ISO_WITH_ZONE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def valid_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "高纯热解氮化硼坩埚制备工艺",
        "description": "现有坩埚纯度不足，高温下析出杂质。\n需要化学气相沉积工艺优化。",
        "indicators": [{"name": "纯度", "target": "≥99.99", "unit": "%"}],
        "expected_outcome": "形成可量产的工艺包",
        "sector": "industry",
        "budget": "300",
        "deadline": "2099-03-31T17:00:00+08:00",
        "region": "211302",
        "tags": ["热解氮化硼", "半导体材料"],
        "contact": "李工 0421-0000000",
    }
    body.update(overrides)
    return body


def assert_field_error(response: Any, *loc: str | int) -> None:
    problem = assert_problem(response, 422, "validation_error")
    locs = [tuple(e["loc"]) for e in problem["errors"]]
    assert any(tuple(loc) == found[: len(loc)] for found in locs), locs


@pytest.fixture
def owner(session: Session) -> User:
    return make_user(session)


@pytest.fixture
def rival(session: Session) -> User:
    return make_user(session)


@pytest.fixture
def staff(session: Session) -> User:
    return make_user(session, kind=OrganizationKind.bureau)


# --- POST /challenges ------------------------------------------------------------------------


def test_verified_enterprise_creates_draft(client: TestClient, owner: User) -> None:
    r = client.post(URL, json=valid_body(budget="300.5"), headers=headers(owner))
    assert r.status_code == 201, r.text
    data = r.json()
    assert data["status"] == "draft"
    assert data["organization_id"] == owner.organization_id
    assert data["budget"] == "300.50"
    assert data["published_at"] is None
    assert data["indicators"] == [{"name": "纯度", "target": "≥99.99", "unit": "%"}]
    for field in ("deadline", "created_at", "updated_at"):
        assert ISO_WITH_ZONE.match(data[field]), data[field]
    deadline = datetime.fromisoformat(data["deadline"].replace("Z", "+00:00"))
    assert deadline == datetime(2099, 3, 31, 9, 0, tzinfo=UTC)


def test_created_draft_is_readable_by_its_owner(client: TestClient, owner: User) -> None:
    cid = client.post(URL, json=valid_body(), headers=headers(owner)).json()["id"]
    r = client.get(f"{URL}/{cid}", headers=headers(owner))
    assert r.status_code == 200
    assert r.json()["title"] == "高纯热解氮化硼坩埚制备工艺"


@pytest.mark.parametrize(
    "kind", [OrganizationKind.university, OrganizationKind.institute, OrganizationKind.bureau]
)
def test_non_enterprise_cannot_create_challenge(
    client: TestClient, session: Session, kind: OrganizationKind
) -> None:
    user = make_user(session, kind=kind)
    r = client.post(URL, json=valid_body(), headers=headers(user))
    assert_problem(r, 403, "role_not_allowed")


def test_unverified_enterprise_cannot_create_challenge(
    client: TestClient, session: Session
) -> None:
    user = make_user(session, verified=False)
    r = client.post(URL, json=valid_body(), headers=headers(user))
    assert_problem(r, 403, "organization_not_verified")


def test_anonymous_cannot_create_challenge(client: TestClient) -> None:
    assert_problem(client.post(URL, json=valid_body()), 401, "not_authenticated")


def test_bad_token_is_refused(client: TestClient) -> None:
    r = client.post(URL, json=valid_body(), headers={"Authorization": "Bearer nonsense"})
    assert r.status_code == 401


@pytest.mark.parametrize(
    ("overrides", "loc"),
    [
        pytest.param({"title": "坩" * 201}, ("body", "title"), id="title-too-long"),
        pytest.param({"title": "   "}, ("body", "title"), id="title-blank"),
        pytest.param({"title": "坩埚\x00"}, ("body", "title"), id="title-nul"),
        pytest.param({"title": "坩埚\x07工艺"}, ("body", "title"), id="title-bell"),
        pytest.param({"title": "坩埚\n工艺"}, ("body", "title"), id="title-newline"),
        pytest.param({"title": "坩埚\u2028工艺"}, ("body", "title"), id="title-line-separator"),
        pytest.param({"description": "描" * 20_001}, ("body", "description"), id="desc-too-long"),
        pytest.param({"description": "描述\x00"}, ("body", "description"), id="desc-nul"),
        pytest.param({"description": "描述\x1b[0m"}, ("body", "description"), id="desc-escape"),
        pytest.param({"budget": "-1"}, ("body", "budget"), id="budget-negative"),
        pytest.param({"budget": "1.234"}, ("body", "budget"), id="budget-3-places"),
        pytest.param({"budget": "很多"}, ("body", "budget"), id="budget-not-a-number"),
        pytest.param(
            {"deadline": "2020-01-01T00:00:00+08:00"}, ("body", "deadline"), id="deadline-past"
        ),
        pytest.param({"deadline": "2099-01-01T00:00:00"}, ("body", "deadline"), id="naive"),
        pytest.param(
            {"deadline": "9999-12-31T23:59:59-08:00"}, ("body", "deadline"), id="deadline-overflow"
        ),
        pytest.param({"region": "999999"}, ("body", "region"), id="region-unknown"),
        pytest.param({"sector": "mining"}, ("body", "sector"), id="sector-bad"),
        pytest.param(
            {"indicators": [{"target": "≥99", "unit": "%"}]},
            ("body", "indicators", 0, "name"),
            id="indicator-no-name",
        ),
        pytest.param(
            {"indicators": [{"name": "纯度", "target": "≥99", "colour": "red"}]},
            ("body", "indicators", 0, "colour"),
            id="indicator-extra-field",
        ),
        pytest.param({"status": "published"}, ("body", "status"), id="extra-status"),
        pytest.param({"organization_id": 1}, ("body", "organization_id"), id="extra-org"),
        pytest.param({"tags": ["x" * 31]}, ("body", "tags", 0), id="tag-too-long"),
    ],
)
def test_invalid_challenge_is_refused_naming_the_field(
    client: TestClient, owner: User, overrides: dict[str, Any], loc: tuple[str | int, ...]
) -> None:
    r = client.post(URL, json=valid_body(**overrides), headers=headers(owner))
    assert_field_error(r, *loc)


@pytest.mark.parametrize("field", ["title", "description", "sector", "budget", "deadline"])
def test_missing_required_field_is_refused(client: TestClient, owner: User, field: str) -> None:
    body = valid_body()
    del body[field]
    assert_field_error(client.post(URL, json=body, headers=headers(owner)), "body", field)


def test_negative_zero_budget_is_stored_as_zero(client: TestClient, owner: User) -> None:
    r = client.post(URL, json=valid_body(budget="-0"), headers=headers(owner))
    assert r.status_code == 201, r.text
    assert r.json()["budget"] == "0.00"


def test_title_of_exactly_200_characters_is_accepted(client: TestClient, owner: User) -> None:
    r = client.post(URL, json=valid_body(title="坩" * 200), headers=headers(owner))
    assert r.status_code == 201, r.text


def test_malformed_json_is_a_problem_not_a_500(client: TestClient, owner: User) -> None:
    r = client.post(
        URL,
        content=b'{"title": ',
        headers={**headers(owner), "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")


def test_refused_create_stores_nothing(client: TestClient, owner: User, staff: User) -> None:
    client.post(URL, json=valid_body(title="坩埚\x00"), headers=headers(owner))
    assert client.get(URL, headers=headers(staff)).json()["total"] == 0


# --- PATCH /challenges/{id} ------------------------------------------------------------------


@pytest.mark.parametrize("status", [S.draft, S.returned])
def test_owner_partially_updates_editable_challenge(
    client: TestClient, session: Session, owner: User, status: ChallengeStatus
) -> None:
    challenge = make_challenge(session, owner=owner, status=status, title="旧标题")
    r = client.patch(
        f"{URL}/{challenge.id}",
        json={"title": "新标题", "budget": "12.3"},
        headers=headers(owner),
    )
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["title"] == "新标题"
    assert data["budget"] == "12.30"
    assert data["status"] == status.value
    # fields not sent are kept
    assert data["description"] == challenge.description
    assert data["sector"] == "industry"
    assert data["tags"] == ["热解氮化硼"]
    assert data["indicators"] == [{"name": "纯度", "target": "≥99.99", "unit": "%"}]
    again = client.get(f"{URL}/{challenge.id}", headers=headers(owner)).json()
    assert again["title"] == "新标题"
    assert again["description"] == challenge.description


def test_owner_replaces_indicators(client: TestClient, session: Session, owner: User) -> None:
    challenge = make_challenge(session, owner=owner, status=S.draft)
    indicators = [{"name": "寿命", "target": "≥50", "unit": "炉次"}]
    r = client.patch(
        f"{URL}/{challenge.id}", json={"indicators": indicators}, headers=headers(owner)
    )
    assert r.status_code == 200, r.text
    assert r.json()["indicators"] == indicators


@pytest.mark.parametrize(
    "status", [S.pending_review, S.published, S.closed, S.awarded, S.withdrawn, S.cancelled]
)
def test_owner_cannot_edit_after_submit(
    client: TestClient, session: Session, owner: User, status: ChallengeStatus
) -> None:
    challenge = make_challenge(session, owner=owner, status=status, title="旧标题")
    r = client.patch(f"{URL}/{challenge.id}", json={"title": "新标题"}, headers=headers(owner))
    assert_problem(r, 409, "invalid_transition")
    assert client.get(f"{URL}/{challenge.id}", headers=headers(owner)).json()["title"] == "旧标题"


def test_submitted_challenge_cannot_be_edited(client: TestClient, owner: User) -> None:
    cid = client.post(URL, json=valid_body(), headers=headers(owner)).json()["id"]
    assert client.post(f"{URL}/{cid}/submit", headers=headers(owner)).status_code == 200
    r = client.patch(f"{URL}/{cid}", json={"title": "新标题"}, headers=headers(owner))
    assert_problem(r, 409, "invalid_transition")


def test_other_enterprise_cannot_see_draft_to_patch(
    client: TestClient, session: Session, owner: User, rival: User
) -> None:
    challenge = make_challenge(session, owner=owner, status=S.draft)
    r = client.patch(f"{URL}/{challenge.id}", json={"title": "改"}, headers=headers(rival))
    assert_problem(r, 404, "challenge_not_found")


def test_other_enterprise_cannot_patch_published_challenge(
    client: TestClient, session: Session, owner: User, rival: User
) -> None:
    challenge = make_challenge(session, owner=owner, status=S.published)
    r = client.patch(f"{URL}/{challenge.id}", json={"title": "改"}, headers=headers(rival))
    assert_problem(r, 403, "not_challenge_owner")


@pytest.mark.parametrize("kind", [OrganizationKind.university, OrganizationKind.bureau])
def test_non_owner_roles_cannot_patch(
    client: TestClient, session: Session, owner: User, kind: OrganizationKind
) -> None:
    challenge = make_challenge(session, owner=owner, status=S.published)
    user = make_user(session, kind=kind)
    r = client.patch(f"{URL}/{challenge.id}", json={"title": "改"}, headers=headers(user))
    assert_problem(r, 403, "not_challenge_owner")


def test_bureau_cannot_patch_a_draft(
    client: TestClient, session: Session, owner: User, staff: User
) -> None:
    challenge = make_challenge(session, owner=owner, status=S.draft)
    r = client.patch(f"{URL}/{challenge.id}", json={"title": "改"}, headers=headers(staff))
    assert_problem(r, 403, "not_challenge_owner")


def test_anonymous_cannot_patch(client: TestClient, session: Session, owner: User) -> None:
    challenge = make_challenge(session, owner=owner, status=S.draft)
    r = client.patch(f"{URL}/{challenge.id}", json={"title": "改"})
    assert_problem(r, 401, "not_authenticated")


def test_patch_of_missing_challenge_is_404(client: TestClient, owner: User) -> None:
    r = client.patch(f"{URL}/999999", json={"title": "改"}, headers=headers(owner))
    assert_problem(r, 404, "challenge_not_found")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"status": "published"}, id="status"),
        pytest.param({"organization_id": 1}, id="organization_id"),
        pytest.param({"id": 1}, id="id"),
        pytest.param({"published_at": "2030-01-01T00:00:00+08:00"}, id="published_at"),
        pytest.param({"status_reason": "x"}, id="status_reason"),
        pytest.param({"created_by_id": 1}, id="created_by_id"),
    ],
)
def test_patch_refuses_server_owned_fields(
    client: TestClient, session: Session, owner: User, body: dict[str, Any]
) -> None:
    challenge = make_challenge(session, owner=owner, status=S.draft)
    r = client.patch(f"{URL}/{challenge.id}", json=body, headers=headers(owner))
    (field,) = body
    assert_field_error(r, "body", field)
    data = client.get(f"{URL}/{challenge.id}", headers=headers(owner)).json()
    assert data["status"] == "draft"
    assert data["organization_id"] == owner.organization_id


@pytest.mark.parametrize("field", ["title", "budget", "deadline"])
def test_patch_refuses_explicit_null(
    client: TestClient, session: Session, owner: User, field: str
) -> None:
    challenge = make_challenge(session, owner=owner, status=S.draft)
    r = client.patch(f"{URL}/{challenge.id}", json={field: None}, headers=headers(owner))
    problem = assert_problem(r, 422, "validation_error")
    assert problem["errors"]
    assert field in r.text


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        pytest.param({"title": "坩" * 201}, ("body", "title"), id="title-too-long"),
        pytest.param({"description": "\x00"}, ("body", "description"), id="desc-nul"),
        pytest.param({"budget": "-0.01"}, ("body", "budget"), id="budget-negative"),
        pytest.param({"budget": "0.001"}, ("body", "budget"), id="budget-3-places"),
        pytest.param({"deadline": "2001-01-01T00:00:00Z"}, ("body", "deadline"), id="past"),
        pytest.param({"region": "000000"}, ("body", "region"), id="region"),
    ],
)
def test_patch_validates_like_create(
    client: TestClient,
    session: Session,
    owner: User,
    body: dict[str, Any],
    loc: tuple[str | int, ...],
) -> None:
    challenge = make_challenge(session, owner=owner, status=S.draft)
    assert_field_error(
        client.patch(f"{URL}/{challenge.id}", json=body, headers=headers(owner)), *loc
    )


# --- GET /challenges, GET /challenges/{id} ---------------------------------------------------

ALL_STATUSES = list(ChallengeStatus)
PUBLIC = {S.published, S.closed, S.awarded}


def one_of_each(session: Session, owner: User) -> dict[ChallengeStatus, int]:
    return {s: make_challenge(session, owner=owner, status=s).id for s in ALL_STATUSES}


def listed_ids(client: TestClient, user: User | None = None, **params: Any) -> list[int]:
    r = client.get(URL, params={"limit": 100, **params}, headers=headers(user) if user else {})
    assert r.status_code == 200, r.text
    return [item["id"] for item in r.json()["items"]]


def test_anonymous_lists_only_public_challenges(
    client: TestClient, session: Session, owner: User
) -> None:
    ids = one_of_each(session, owner)
    assert set(listed_ids(client)) == {ids[s] for s in PUBLIC}


@pytest.mark.parametrize("status", ALL_STATUSES)
def test_anonymous_reads_detail_only_when_public(
    client: TestClient, session: Session, owner: User, status: ChallengeStatus
) -> None:
    challenge = make_challenge(session, owner=owner, status=status)
    r = client.get(f"{URL}/{challenge.id}")
    if status in PUBLIC:
        assert r.status_code == 200
        assert r.json()["status"] == status.value
    else:
        assert_problem(r, 404, "challenge_not_found")


@pytest.mark.parametrize(
    "kind", [OrganizationKind.enterprise, OrganizationKind.university, OrganizationKind.institute]
)
def test_other_organisations_list_only_public_challenges(
    client: TestClient, session: Session, owner: User, kind: OrganizationKind
) -> None:
    ids = one_of_each(session, owner)
    other = make_user(session, kind=kind)
    assert set(listed_ids(client, other)) == {ids[s] for s in PUBLIC}


def test_owner_lists_all_its_own_challenges(
    client: TestClient, session: Session, owner: User, rival: User
) -> None:
    ids = one_of_each(session, owner)
    rival_ids = one_of_each(session, rival)
    expected = set(ids.values()) | {rival_ids[s] for s in PUBLIC}
    assert set(listed_ids(client, owner)) == expected


def test_colleague_in_same_enterprise_sees_its_drafts(
    client: TestClient, session: Session, owner: User
) -> None:
    challenge = make_challenge(session, owner=owner, status=S.draft)
    colleague = make_user(session, organization=owner.organization)
    assert client.get(f"{URL}/{challenge.id}", headers=headers(colleague)).status_code == 200


@pytest.mark.parametrize("status", [S.draft, S.pending_review, S.returned, S.withdrawn])
@pytest.mark.parametrize("kind", [OrganizationKind.enterprise, OrganizationKind.university])
def test_others_get_404_for_non_public_challenge(
    client: TestClient,
    session: Session,
    owner: User,
    status: ChallengeStatus,
    kind: OrganizationKind,
) -> None:
    challenge = make_challenge(session, owner=owner, status=status)
    other = make_user(session, kind=kind)
    r = client.get(f"{URL}/{challenge.id}", headers=headers(other))
    assert_problem(r, 404, "challenge_not_found")


def test_bureau_lists_and_reads_everything(
    client: TestClient, session: Session, owner: User, staff: User
) -> None:
    ids = one_of_each(session, owner)
    assert set(listed_ids(client, staff)) == set(ids.values())
    r = client.get(f"{URL}/{ids[S.draft]}", headers=headers(staff))
    assert r.status_code == 200


def test_missing_challenge_is_404(client: TestClient) -> None:
    assert_problem(client.get(f"{URL}/424242"), 404, "challenge_not_found")


def test_filter_by_status(client: TestClient, session: Session, owner: User, staff: User) -> None:
    ids = one_of_each(session, owner)
    assert listed_ids(client, status="closed") == [ids[S.closed]]
    assert listed_ids(client, staff, status="draft") == [ids[S.draft]]
    # a filter never widens what the viewer may see
    assert listed_ids(client, status="draft") == []


def test_filter_by_sector_and_region(client: TestClient, session: Session, owner: User) -> None:
    farm = make_challenge(session, owner=owner, sector=Sector.agriculture, region="211381")
    factory = make_challenge(session, owner=owner, sector=Sector.industry, region="211302")
    assert listed_ids(client, sector="agriculture") == [farm.id]
    assert listed_ids(client, sector="industry") == [factory.id]
    assert listed_ids(client, region="211381") == [farm.id]
    assert listed_ids(client, region="211302", sector="agriculture") == []


def test_filter_by_chinese_substring_in_title_or_description(
    client: TestClient, session: Session, owner: User
) -> None:
    crucible = make_challenge(session, owner=owner, title="高纯热解氮化硼坩埚", description="纯度")
    corn = make_challenge(
        session, owner=owner, title="玉米深加工", description="提高玉米淀粉的转化率"
    )
    assert listed_ids(client, q="氮化硼") == [crucible.id]
    assert listed_ids(client, q="淀粉") == [corn.id]
    assert listed_ids(client, q="钢铁") == []


def test_q_with_like_wildcards_is_literal(
    client: TestClient, session: Session, owner: User
) -> None:
    make_challenge(session, owner=owner, title="普通标题")
    percent = make_challenge(session, owner=owner, title="良率提升 5%")
    assert listed_ids(client, q="%") == [percent.id]
    assert listed_ids(client, q="_") == []


def test_filter_by_organization(
    client: TestClient, session: Session, owner: User, rival: User
) -> None:
    mine = make_challenge(session, owner=owner)
    theirs = make_challenge(session, owner=rival)
    assert listed_ids(client, organization_id=owner.organization_id) == [mine.id]
    assert listed_ids(client, organization_id=rival.organization_id) == [theirs.id]


@pytest.mark.parametrize(
    "params",
    [
        {"status": "bogus"},
        {"sector": "mining"},
        {"limit": 0},
        {"limit": 101},
        {"offset": -1},
        {"organization_id": "abc"},
        {"organization_id": 2**31},
        {"q": "坩埚\x00"},
        {"q": "坩" * 101},
        {"region": "\x00"},
        {"region": "999999"},
    ],
)
def test_bad_list_parameters_are_422(client: TestClient, params: dict[str, Any]) -> None:
    r = client.get(URL, params=params)
    assert_problem(r, 422, "validation_error")


def test_region_filter_accepts_full_width_digits(
    client: TestClient, session: Session, owner: User
) -> None:
    challenge = make_challenge(session, owner=owner, region="211381")
    assert listed_ids(client, region="２１１３８１") == [challenge.id]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", ""),
        ("PATCH", ""),
        ("POST", "/submit"),
        ("POST", "/approve"),
        ("POST", "/close"),
        ("POST", "/withdraw"),
    ],
)
def test_out_of_range_challenge_id_is_422_not_500(
    client: TestClient, staff: User, method: str, path: str
) -> None:
    for challenge_id in (2**31, 2**63, 0):
        r = client.request(
            method, f"{URL}/{challenge_id}{path}", json={"title": "改"}, headers=headers(staff)
        )
        assert_field_error(r, "path", "challenge_id")


def test_list_is_newest_first_and_paginated_with_total(
    client: TestClient, session: Session, owner: User
) -> None:
    created = [make_challenge(session, owner=owner).id for _ in range(5)]
    newest_first = list(reversed(created))
    r = client.get(URL, params={"limit": 2})
    page = r.json()
    assert (page["total"], page["limit"], page["offset"]) == (5, 2, 0)
    assert [i["id"] for i in page["items"]] == newest_first[:2]
    page2 = client.get(URL, params={"limit": 2, "offset": 2}).json()
    assert [i["id"] for i in page2["items"]] == newest_first[2:4]
    page3 = client.get(URL, params={"limit": 2, "offset": 4}).json()
    assert [i["id"] for i in page3["items"]] == newest_first[4:]
    assert page3["total"] == 5
    beyond = client.get(URL, params={"limit": 2, "offset": 10}).json()
    assert beyond["items"] == []
    assert beyond["total"] == 5
    # the same request answers the same order every time
    assert listed_ids(client) == listed_ids(client) == newest_first


def test_total_counts_only_what_the_viewer_may_see(
    client: TestClient, session: Session, owner: User
) -> None:
    one_of_each(session, owner)
    assert client.get(URL).json()["total"] == len(PUBLIC)
    assert client.get(URL, headers=headers(owner)).json()["total"] == len(ALL_STATUSES)


def test_list_items_carry_contract_fields(
    client: TestClient, session: Session, owner: User
) -> None:
    make_challenge(session, owner=owner)
    (item,) = client.get(URL).json()["items"]
    for field in (
        "id",
        "title",
        "description",
        "indicators",
        "sector",
        "budget",
        "deadline",
        "region",
        "tags",
        "status",
        "organization_id",
        "published_at",
    ):
        assert field in item
    assert item["budget"] == "100.00"
    assert ISO_WITH_ZONE.match(item["published_at"])
    assert datetime.fromisoformat(item["deadline"].replace("Z", "+00:00")) > datetime.now(
        UTC
    ) + timedelta(days=29)
