"""Capabilities (科研能力) and results (科技成果): who publishes, who reads, who edits."""

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.models import Capability, OrganizationKind, Result, User
from tests.factories import headers, make_capability, make_result, make_user
from tests.problems import assert_problem, auth

API = "/api/v1"
CAPABILITY = {
    "title": "先进陶瓷材料团队",
    "description": "氮化硼、碳化硅的制备与表征。",
    "tags": ["陶瓷"],
}
RESULT = {
    **CAPABILITY,
    "title": "高纯氮化硼制备技术",
    "maturity": "pilot",
    "transfer_mode": "licence",
    "patents": ["ZL202110000000.0"],
}
Factory = Callable[..., Capability | Result]
KINDS: list[tuple[str, dict[str, Any], Factory]] = [
    ("capabilities", CAPABILITY, make_capability),
    ("results", RESULT, make_result),
]
KIND_IDS = ["capability", "result"]
ROLES = ["anonymous", "colleague", "enterprise", "rival", "bureau"]


def singular(path: str) -> str:
    return {"capabilities": "capability", "results": "result"}[path]


def assert_field_error(response: Any, field: str) -> None:
    problem = assert_problem(response, 422, "validation_error")
    assert any(field in e["loc"] for e in problem["errors"]), problem["errors"]


@pytest.fixture
def owner(session: Session) -> User:
    return make_user(session, kind=OrganizationKind.university)


@pytest.fixture
def people(session: Session, owner: User) -> dict[str, User | None]:
    """Everyone except the owner: a colleague in the owner's university, and outsiders."""
    return {
        "anonymous": None,
        "colleague": make_user(session, organization=owner.organization),
        "enterprise": make_user(session),
        "rival": make_user(session, kind=OrganizationKind.university),
        "bureau": make_user(session, kind=OrganizationKind.bureau),
    }


def audit_trail(
    client: TestClient, session: Session, kind: str, object_id: int
) -> list[tuple[str, int | None]]:
    """(action, actor_id) of the object's audit events, newest first, as the bureau reads them."""
    staff = make_user(session, kind=OrganizationKind.bureau)
    r = client.get(
        f"{API}/audit-events",
        params={"object_type": kind, "object_id": object_id},
        headers=headers(staff),
    )
    assert r.status_code == 200, r.text
    return [(e["action"], e["actor_id"]) for e in r.json()["items"]]


# --- POST ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "body", "_"), KINDS, ids=KIND_IDS)
@pytest.mark.parametrize("kind", [OrganizationKind.university, OrganizationKind.institute])
def test_verified_research_organisation_publishes_offering(
    client: TestClient,
    session: Session,
    path: str,
    body: dict[str, Any],
    _: Factory,
    kind: OrganizationKind,
) -> None:
    user = make_user(session, kind=kind)
    r = client.post(f"{API}/{path}", json=body, headers=headers(user))
    assert r.status_code == 201, r.text
    data = r.json()
    assert data["organization_id"] == user.organization_id
    assert {k: data[k] for k in body} == body
    assert client.get(f"{API}/{path}/{data['id']}").json() == data


@pytest.mark.parametrize(("path", "body", "_"), KINDS, ids=KIND_IDS)
@pytest.mark.parametrize("kind", [OrganizationKind.enterprise, OrganizationKind.bureau])
def test_enterprise_and_bureau_cannot_publish_offering(
    client: TestClient,
    session: Session,
    path: str,
    body: dict[str, Any],
    _: Factory,
    kind: OrganizationKind,
) -> None:
    user = make_user(session, kind=kind)
    r = client.post(f"{API}/{path}", json=body, headers=headers(user))
    assert_problem(r, 403, "role_not_allowed")


@pytest.mark.parametrize(("path", "body", "_"), KINDS, ids=KIND_IDS)
def test_unverified_university_cannot_publish_offering(
    client: TestClient, session: Session, path: str, body: dict[str, Any], _: Factory
) -> None:
    user = make_user(session, kind=OrganizationKind.university, verified=False)
    r = client.post(f"{API}/{path}", json=body, headers=headers(user))
    assert_problem(r, 403, "organization_not_verified")
    assert client.get(f"{API}/{path}", headers=headers(user)).json()["total"] == 0


@pytest.mark.parametrize(("path", "body", "factory"), KINDS, ids=KIND_IDS)
def test_anonymous_cannot_write_offering(
    client: TestClient,
    session: Session,
    owner: User,
    path: str,
    body: dict[str, Any],
    factory: Factory,
) -> None:
    item = factory(session, owner=owner)
    assert_problem(client.post(f"{API}/{path}", json=body), 401, "not_authenticated")
    patched = client.patch(f"{API}/{path}/{item.id}", json={"title": "改"})
    assert_problem(patched, 401, "not_authenticated")
    assert_problem(client.delete(f"{API}/{path}/{item.id}"), 401, "not_authenticated")
    assert client.get(f"{API}/{path}/{item.id}").json()["title"] == item.title


@pytest.mark.parametrize(("path", "body", "_"), KINDS, ids=KIND_IDS)
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", ""),
        ("title", "题" * 201),
        ("description", ""),
        ("description", "长" * 20_001),
        ("description", "带\x00空字符"),
        ("tags", "不是列表"),
        ("organization_id", 1),
    ],
)
def test_offering_input_is_validated(
    client: TestClient,
    owner: User,
    path: str,
    body: dict[str, Any],
    _: Factory,
    field: str,
    value: Any,
) -> None:
    r = client.post(f"{API}/{path}", json={**body, field: value}, headers=headers(owner))
    assert_field_error(r, field)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("maturity", "prototype"),
        ("maturity", None),
        ("transfer_mode", "sale"),
        ("transfer_mode", ""),
        ("patents", "ZL202110000000.0"),
        ("patents", ["号" * 31]),
        ("patents", ["ZL2021\x00"]),
        ("patents", [f"ZL{n}" for n in range(51)]),
    ],
)
def test_result_fields_are_validated(
    client: TestClient, owner: User, field: str, value: Any
) -> None:
    r = client.post(f"{API}/results", json={**RESULT, field: value}, headers=headers(owner))
    assert_field_error(r, field)


@pytest.mark.parametrize("field", ["maturity", "transfer_mode"])
def test_result_requires_maturity_and_transfer_mode(
    client: TestClient, owner: User, field: str
) -> None:
    body = {k: v for k, v in RESULT.items() if k != field}
    assert_field_error(client.post(f"{API}/results", json=body, headers=headers(owner)), field)


# --- GET -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "_", "factory"), KINDS, ids=KIND_IDS)
@pytest.mark.parametrize("role", ROLES)
def test_anyone_reads_offering_of_verified_organisation(
    client: TestClient,
    session: Session,
    owner: User,
    people: dict[str, User | None],
    path: str,
    _: dict[str, Any],
    factory: Factory,
    role: str,
) -> None:
    item = factory(session, owner=owner)
    viewer = auth(people[role])
    r = client.get(f"{API}/{path}/{item.id}", headers=viewer)
    assert r.status_code == 200, r.text
    assert r.json()["organization_id"] == owner.organization_id
    listed = client.get(f"{API}/{path}", headers=viewer).json()
    assert [i["id"] for i in listed["items"]] == [item.id]


@pytest.mark.parametrize(("path", "_", "factory"), KINDS, ids=KIND_IDS)
@pytest.mark.parametrize(
    ("role", "visible"),
    [
        ("anonymous", False),
        ("enterprise", False),
        ("rival", False),
        ("colleague", True),
        ("bureau", True),
    ],
)
def test_unverified_organisations_offering_is_seen_only_by_its_members_and_bureau(
    client: TestClient,
    session: Session,
    path: str,
    _: dict[str, Any],
    factory: Factory,
    role: str,
    visible: bool,
) -> None:
    unverified = make_user(session, kind=OrganizationKind.university, verified=False)
    people = {
        "anonymous": None,
        "enterprise": make_user(session),
        "rival": make_user(session, kind=OrganizationKind.university),
        "colleague": make_user(session, organization=unverified.organization),
        "bureau": make_user(session, kind=OrganizationKind.bureau),
    }
    item = factory(session, owner=unverified)
    viewer = auth(people[role])
    r = client.get(f"{API}/{path}/{item.id}", headers=viewer)
    listed = client.get(f"{API}/{path}", headers=viewer).json()
    if visible:
        assert r.status_code == 200, r.text
        assert [i["id"] for i in listed["items"]] == [item.id]
    else:
        assert_problem(r, 404, f"{singular(path)}_not_found")
        assert listed == {"items": [], "total": 0, "limit": 20, "offset": 0}


@pytest.mark.parametrize(("path", "_", "factory"), KINDS, ids=KIND_IDS)
def test_missing_offering_is_not_found(
    client: TestClient, path: str, _: dict[str, Any], factory: Factory
) -> None:
    assert_problem(client.get(f"{API}/{path}/999999"), 404, f"{singular(path)}_not_found")


@pytest.mark.parametrize(("path", "_", "factory"), KINDS, ids=KIND_IDS)
def test_offering_list_filters_and_pages(
    client: TestClient,
    session: Session,
    owner: User,
    path: str,
    _: dict[str, Any],
    factory: Factory,
) -> None:
    other = make_user(session, kind=OrganizationKind.institute)
    first = factory(session, owner=owner, title="碳化硅涂层", description="涂层")
    second = factory(session, owner=owner, title="坩埚", description="氮化硼坩埚")
    third = factory(session, owner=other, title="氮化镓外延", description="外延")
    everything = client.get(f"{API}/{path}").json()
    assert [i["id"] for i in everything["items"]] == [third.id, second.id, first.id]
    assert everything["total"] == 3
    mine = client.get(f"{API}/{path}", params={"organization_id": owner.organization_id}).json()
    assert [i["id"] for i in mine["items"]] == [second.id, first.id]
    found = client.get(f"{API}/{path}", params={"q": "氮化"}).json()
    assert [i["id"] for i in found["items"]] == [third.id, second.id]
    page = client.get(f"{API}/{path}", params={"limit": 1, "offset": 1}).json()
    assert page == {**page, "total": 3, "limit": 1, "offset": 1}
    assert [i["id"] for i in page["items"]] == [second.id]
    assert client.get(f"{API}/{path}", params={"q": "%"}).json()["total"] == 0


@pytest.mark.parametrize(("path", "_", "factory"), KINDS, ids=KIND_IDS)
@pytest.mark.parametrize("bad_id", [0, 2**31, 10**30])
def test_out_of_range_offering_id_is_invalid_input(
    client: TestClient,
    owner: User,
    path: str,
    _: dict[str, Any],
    factory: Factory,
    bad_id: int,
) -> None:
    url, field = f"{API}/{path}/{bad_id}", f"{singular(path)}_id"
    assert_field_error(client.get(url), field)
    assert_field_error(client.patch(url, json={"title": "改"}, headers=headers(owner)), field)
    assert_field_error(client.delete(url, headers=headers(owner)), field)
    listed = client.get(f"{API}/{path}", params={"organization_id": bad_id})
    assert_field_error(listed, "organization_id")


@pytest.mark.parametrize(("path", "_", "factory"), KINDS, ids=KIND_IDS)
@pytest.mark.parametrize("q", ["氮化\x00硼", "两行\n文字", "长" * 101])
def test_bad_search_text_is_invalid_input(
    client: TestClient, path: str, _: dict[str, Any], factory: Factory, q: str
) -> None:
    assert_field_error(client.get(f"{API}/{path}", params={"q": q}), "q")


# --- PATCH -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "_", "factory"), KINDS, ids=KIND_IDS)
@pytest.mark.parametrize("editor", ["owner", "colleague"])
def test_owning_organisation_patches_offering_partially(
    client: TestClient,
    session: Session,
    owner: User,
    people: dict[str, User | None],
    path: str,
    _: dict[str, Any],
    factory: Factory,
    editor: str,
) -> None:
    item = factory(session, owner=owner)
    user = owner if editor == "owner" else people["colleague"]
    assert user is not None
    before = client.get(f"{API}/{path}/{item.id}").json()
    r = client.patch(f"{API}/{path}/{item.id}", json={"title": " 新标题 "}, headers=headers(user))
    assert r.status_code == 200, r.text
    after = r.json()
    assert after["title"] == "新标题"
    unchanged = {k: v for k, v in after.items() if k not in {"title", "updated_at"}}
    assert unchanged == {k: v for k, v in before.items() if k not in {"title", "updated_at"}}
    assert client.get(f"{API}/{path}/{item.id}").json()["title"] == "新标题"


def test_owner_patches_result_fields(client: TestClient, session: Session, owner: User) -> None:
    item = make_result(session, owner=owner)
    body = {"maturity": "industrialised", "transfer_mode": "equity", "patents": ["ZL1", "ZL2"]}
    r = client.patch(f"{API}/results/{item.id}", json=body, headers=headers(owner))
    assert r.status_code == 200, r.text
    assert {k: r.json()[k] for k in body} == body
    bad = client.patch(
        f"{API}/results/{item.id}", json={"maturity": "prototype"}, headers=headers(owner)
    )
    assert_field_error(bad, "maturity")
    assert client.get(f"{API}/results/{item.id}").json()["maturity"] == "industrialised"


@pytest.mark.parametrize(("path", "_", "factory"), KINDS, ids=KIND_IDS)
@pytest.mark.parametrize("role", ["enterprise", "rival", "bureau"])
def test_non_owner_cannot_change_or_delete_offering(
    client: TestClient,
    session: Session,
    owner: User,
    people: dict[str, User | None],
    path: str,
    _: dict[str, Any],
    factory: Factory,
    role: str,
) -> None:
    item = factory(session, owner=owner)
    user = people[role]
    assert user is not None
    patched = client.patch(f"{API}/{path}/{item.id}", json={"title": "抢"}, headers=headers(user))
    assert_problem(patched, 403, "not_offering_owner")
    deleted = client.delete(f"{API}/{path}/{item.id}", headers=headers(user))
    assert_problem(deleted, 403, "not_offering_owner")
    assert client.get(f"{API}/{path}/{item.id}").json()["title"] == item.title


@pytest.mark.parametrize(("path", "_", "factory"), KINDS, ids=KIND_IDS)
def test_others_cannot_change_hidden_offering(
    client: TestClient, session: Session, path: str, _: dict[str, Any], factory: Factory
) -> None:
    unverified = make_user(session, kind=OrganizationKind.university, verified=False)
    item = factory(session, owner=unverified)
    rival = make_user(session, kind=OrganizationKind.university)
    r = client.patch(f"{API}/{path}/{item.id}", json={"title": "抢"}, headers=headers(rival))
    assert r.status_code == 404
    assert client.delete(f"{API}/{path}/{item.id}", headers=headers(rival)).status_code == 404


@pytest.mark.parametrize(("path", "_", "factory"), KINDS, ids=KIND_IDS)
@pytest.mark.parametrize(
    "body",
    [
        {"organization_id": 1},
        {"created_by_id": 1},
        {"id": 1},
        {"title": None},
        {"title": "题" * 201},
        {"description": "\x00"},
    ],
)
def test_patch_refuses_server_owned_fields_and_bad_values(
    client: TestClient,
    session: Session,
    owner: User,
    path: str,
    _: dict[str, Any],
    factory: Factory,
    body: dict[str, Any],
) -> None:
    item = factory(session, owner=owner)
    r = client.patch(f"{API}/{path}/{item.id}", json=body, headers=headers(owner))
    assert_problem(r, 422, "validation_error")
    data = client.get(f"{API}/{path}/{item.id}").json()
    assert (data["organization_id"], data["title"]) == (owner.organization_id, item.title)


# --- DELETE ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "_", "factory"), KINDS, ids=KIND_IDS)
def test_owner_deletes_offering(
    client: TestClient,
    session: Session,
    owner: User,
    path: str,
    _: dict[str, Any],
    factory: Factory,
) -> None:
    item = factory(session, owner=owner)
    r = client.delete(f"{API}/{path}/{item.id}", headers=headers(owner))
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert client.get(f"{API}/{path}/{item.id}", headers=headers(owner)).status_code == 404
    assert client.delete(f"{API}/{path}/{item.id}", headers=headers(owner)).status_code == 404
    assert client.get(f"{API}/{path}").json()["total"] == 0


# --- audit -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "body", "_"), KINDS, ids=KIND_IDS)
def test_offering_writes_are_audited(
    client: TestClient,
    session: Session,
    owner: User,
    path: str,
    body: dict[str, Any],
    _: Factory,
) -> None:
    kind = singular(path)
    item_id = client.post(f"{API}/{path}", json=body, headers=headers(owner)).json()["id"]
    client.patch(f"{API}/{path}/{item_id}", json={"tags": ["新"]}, headers=headers(owner))
    client.delete(f"{API}/{path}/{item_id}", headers=headers(owner))
    trail = audit_trail(client, session, kind, item_id)
    assert trail == [(f"{kind}.{a}", owner.id) for a in ("delete", "update", "create")]


@pytest.mark.parametrize(("path", "body", "_"), KINDS, ids=KIND_IDS)
def test_a_deleted_offerings_id_is_never_given_again(
    client: TestClient, owner: User, path: str, body: dict[str, Any], _: Factory
) -> None:
    # SQLite reuses the largest id unless the table is AUTOINCREMENT: the audit log and links
    # would then name two offerings by one id. PostgreSQL's sequences never reuse one.
    first = client.post(f"{API}/{path}", json=body, headers=headers(owner)).json()["id"]
    assert client.delete(f"{API}/{path}/{first}", headers=headers(owner)).status_code == 204
    second = client.post(f"{API}/{path}", json=body, headers=headers(owner)).json()["id"]
    assert second > first
