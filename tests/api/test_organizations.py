"""Registration, visibility and bureau verification of organisations (`/organizations`)."""

import itertools
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import (
    AuditEvent,
    Organization,
    OrganizationKind,
    OrganizationStatus,
    Role,
    User,
)
from app.schemas.organization import CREDIT_CODE_ALPHABET, credit_code_check_char
from tests.factories import headers, make_user
from tests.problems import assert_problem

ORGS = "/api/v1/organizations"
REGISTER = f"{ORGS}/register"
PASSWORD = "a-long-password"
_seq = itertools.count(1)


def credit_code(n: int) -> str:
    body = f"91211303MB{n:07d}"  # apart from the factories' codes
    return body + credit_code_check_char(body)


def registration(kind: str = "enterprise", **organization: Any) -> dict[str, Any]:
    n = next(_seq)
    org: dict[str, Any] = {
        "kind": kind,
        "name": f"朝阳注册测试单位{n}",
        "credit_code": credit_code(n) if kind == "enterprise" else None,
        "region": "211302",
    }
    org.update(organization)
    return {
        "organization": org,
        "user": {
            "username": f"reg_user_{n}",
            "password": PASSWORD,
            "display_name": "张伟",
        },
    }


def with_user(body: dict[str, Any], **user: Any) -> dict[str, Any]:
    body["user"].update(user)
    return body


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def audit_events(session: Session, org_id: int) -> list[AuditEvent]:
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.object_type == "organization", AuditEvent.object_id == org_id)
        .order_by(AuditEvent.id)
    )
    return list(session.scalars(stmt))


def challenge_body() -> dict[str, Any]:
    return {
        "title": "高纯热解氮化硼坩埚制备工艺",
        "description": "现有坩埚纯度不足，需要化学气相沉积工艺优化。",
        "indicators": [{"name": "纯度", "target": "≥99.99", "unit": "%"}],
        "sector": "industry",
        "budget": "120.00",
        "deadline": "2099-01-01T00:00:00+08:00",
        "region": "211302",
        "tags": ["热解氮化硼"],
    }


# --- POST /organizations/register -------------------------------------------------------


@pytest.mark.parametrize("kind", ["enterprise", "university", "institute"])
def test_registration_creates_unverified_organization_and_its_user(
    client: TestClient, session: Session, kind: str
) -> None:
    body = registration(kind)

    r = client.post(REGISTER, json=body)

    assert r.status_code == 201, r.text
    data = r.json()
    assert data["status"] == "unverified"
    assert data["kind"] == kind
    assert data["name"] == body["organization"]["name"]
    assert data["user"]["role"] == kind
    assert data["user"]["organization_id"] == data["id"]
    assert "password" not in data["user"]
    assert "password_hash" not in data["user"]
    user = session.scalars(select(User).where(User.organization_id == data["id"])).one()
    assert user.username == body["user"]["username"]
    assert user.password_hash.startswith("$argon2id$")


def test_registered_user_can_sign_in_and_read_itself(client: TestClient) -> None:
    body = registration()
    org_id = client.post(REGISTER, json=body).json()["id"]

    token = client.post(
        "/api/v1/auth/token",
        data={"username": body["user"]["username"].upper(), "password": PASSWORD},
    )

    assert token.status_code == 200, token.text
    me = client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"}
    )
    assert me.json()["organization_id"] == org_id
    assert me.json()["role"] == "enterprise"


def test_registration_writes_an_audit_event(client: TestClient, session: Session) -> None:
    r = client.post(REGISTER, json=registration())

    org_id = r.json()["id"]
    [event] = audit_events(session, org_id)
    assert event.action == "organization.register"
    assert event.actor_id == r.json()["user"]["id"]
    assert event.after is not None
    assert event.after["status"] == "unverified"


def test_registration_cannot_choose_server_owned_fields(
    client: TestClient, session: Session
) -> None:
    body = registration(status="verified", id=424242)
    body["user"].update(role="bureau", organization_id=1, is_active=False)

    r = client.post(REGISTER, json=body)

    problem = assert_problem(r, 422, "validation_error")
    assert {tuple(e["loc"]) for e in problem["errors"]} == {
        ("body", "organization", "status"),
        ("body", "organization", "id"),
        ("body", "user", "role"),
        ("body", "user", "organization_id"),
        ("body", "user", "is_active"),
    }
    assert session.get(Organization, 424242) is None


@pytest.mark.parametrize("kind", ["enterprise", "university", "institute"])
@pytest.mark.parametrize(
    "where", [(), ("organization",), ("user",)], ids=["body", "organization", "user"]
)
def test_registration_refuses_unknown_fields_at_every_level(
    client: TestClient, session: Session, kind: str, where: tuple[str, ...]
) -> None:
    body = registration(kind)
    part = body if not where else body[where[0]]
    part["note"] = "多余字段"
    users_before = session.scalar(select(func.count(User.id)))

    r = client.post(REGISTER, json=body)

    problem = assert_problem(r, 422, "validation_error")
    assert [e["loc"] for e in problem["errors"]] == [["body", *where, "note"]]
    assert problem["errors"][0]["type"] == "extra_forbidden"
    assert problem["errors"][0]["msg"] == "不允许的字段"
    assert session.scalar(select(func.count(User.id))) == users_before


def test_username_is_stored_lower_case(client: TestClient) -> None:
    body = with_user(registration(), username="Zhang_Wei_Up")

    r = client.post(REGISTER, json=body)

    assert r.status_code == 201, r.text
    assert r.json()["user"]["username"] == "zhang_wei_up"


def test_full_width_credit_code_and_region_are_normalised(
    client: TestClient, session: Session
) -> None:
    code = credit_code(900_001)
    body = registration(credit_code=full_width(code.lower()), region=full_width("211381"))

    r = client.post(REGISTER, json=body)

    assert r.status_code == 201, r.text
    assert r.json()["credit_code"] == code
    assert r.json()["region"] == "211381"
    org = session.get(Organization, r.json()["id"])
    assert org is not None
    assert (org.credit_code, org.region) == (code, "211381")


def _bad_check_char(code: str) -> str:
    wrong = next(c for c in CREDIT_CODE_ALPHABET if c != code[-1])
    return code[:-1] + wrong


@pytest.mark.parametrize(
    ("label", "organization", "user"),
    [
        ("bureau kind", {"kind": "bureau"}, {}),
        ("unknown kind", {"kind": "company"}, {}),
        ("enterprise without credit code", {"credit_code": None}, {}),
        ("bad GB 32100 check character", {"credit_code": _bad_check_char(credit_code(7))}, {}),
        ("credit code too short", {"credit_code": credit_code(7)[:17]}, {}),
        ("credit code with letter O", {"credit_code": "O" * 18}, {}),
        ("unknown region", {"region": "110101"}, {}),
        ("region not digits", {"region": "chaoyang"}, {}),
        ("NUL in name", {"name": "朝阳\x00钢铁"}, {}),
        ("newline in name", {"name": "朝阳\n钢铁"}, {}),
        ("blank name", {"name": "   "}, {}),
        ("name over 200", {"name": "名" * 201}, {}),
        ("password under 10", {}, {"password": "short-pw1"}),
        ("password over 128", {}, {"password": "p" * 129}),
        ("username too short", {}, {"username": "ab"}),
        ("username with space", {}, {"username": "zhang wei"}),
        ("username with NUL", {}, {"username": "zhang\x00wei"}),
        ("blank display name", {}, {"display_name": "  "}),
        ("NUL in display name", {}, {"display_name": "张\x00伟"}),
        ("display name over 100", {}, {"display_name": "张" * 101}),
    ],
)
def test_bad_registration_is_422_and_creates_nothing(
    client: TestClient,
    session: Session,
    label: str,
    organization: dict[str, Any],
    user: dict[str, Any],
) -> None:
    body = with_user(registration(**organization), **user)
    users_before = session.scalar(select(func.count(User.id)))

    r = client.post(REGISTER, json=body)

    assert_problem(r, 422, "validation_error")
    assert r.json()["errors"], label
    assert session.scalar(select(func.count(User.id))) == users_before


INVISIBLE = [
    "\u200b",  # ZERO WIDTH SPACE
    "\u200c",
    "\u200d",
    "\u200e",  # LEFT-TO-RIGHT MARK
    "\u200f",
    "\u202a",  # LEFT-TO-RIGHT EMBEDDING
    "\u202d",
    "\u202e",  # RIGHT-TO-LEFT OVERRIDE
    "\u2060",  # WORD JOINER
    "\u2063",
    "\u2064",
    "\u2066",  # LEFT-TO-RIGHT ISOLATE
    "\u2069",
    "\ufeff",  # ZERO WIDTH NO-BREAK SPACE (BOM)
]


@pytest.mark.parametrize("kind", ["enterprise", "university", "institute"])
@pytest.mark.parametrize("char", INVISIBLE, ids=lambda c: f"U+{ord(c):04X}")
def test_invisible_characters_in_names_are_refused(
    client: TestClient, session: Session, kind: str, char: str
) -> None:
    for body, loc in [
        (registration(kind, name=f"朝阳{char}钢铁有限公司"), ["body", "organization", "name"]),
        (
            with_user(registration(kind), display_name=f"张{char}伟"),
            ["body", "user", "display_name"],
        ),
    ]:
        users_before = session.scalar(select(func.count(User.id)))

        r = client.post(REGISTER, json=body)

        problem = assert_problem(r, 422, "validation_error")
        assert [e["loc"] for e in problem["errors"]] == [loc]
        assert problem["errors"][0]["msg"] == "不能包含零宽字符或文字方向控制字符"
        assert session.scalar(select(func.count(User.id))) == users_before


@pytest.mark.parametrize("kind", ["enterprise", "university", "institute"])
@pytest.mark.parametrize(
    "name",
    [
        "朝阳市科技局",
        "朝阳市科学技术局",
        "科技局服务中心有限公司",
        "朝阳 科 技 局",
        "朝阳\u3000科技局",  # an ideographic (full-width) space
        "朝阳市科学技术局（驻京办）",
    ],
)
def test_organization_name_posing_as_the_bureau_is_refused(
    client: TestClient, session: Session, kind: str, name: str
) -> None:
    users_before = session.scalar(select(func.count(User.id)))

    r = client.post(REGISTER, json=registration(kind, name=name))

    problem = assert_problem(r, 422, "reserved_organization_name")
    assert [e["loc"] for e in problem["errors"]] == [["body", "organization", "name"]]
    assert "科技局" in problem["detail"]
    assert session.scalar(select(func.count(User.id))) == users_before


@pytest.mark.parametrize("kind", ["enterprise", "university", "institute"])
def test_organization_name_containing_the_bureau_organisations_own_name_is_refused(
    client: TestClient, session: Session, kind: str
) -> None:
    staff = make_user(session, kind=OrganizationKind.bureau)
    staff.organization.name = "临港新区管理委员会"
    make_user(session, kind=OrganizationKind.bureau).organization.name = "Lingang STB"
    session.commit()

    for name in [
        "临港新区管理委员会",
        "临港新区 管理委员会 产业服务部",
        "临港新区管理委员会有限公司",
        "ＬＩＮＧＡＮＧ ｓｔｂ Services",  # full-width, other case, spaced
    ]:
        r = client.post(REGISTER, json=registration(kind, name=name))
        assert_problem(r, 422, "reserved_organization_name")
    assert client.post(REGISTER, json=registration(kind, name="临港新区钢铁有限公司")).is_success


WEAK_PASSWORDS = [
    "password123",
    "PassWord123",  # the list is compared case-insensitively
    "qwertyuiop",
    "1234567890",
    "iloveyou12",
]


@pytest.mark.parametrize("kind", ["enterprise", "university", "institute"])
@pytest.mark.parametrize("password", WEAK_PASSWORDS)
def test_common_password_is_refused_at_registration(
    client: TestClient, session: Session, kind: str, password: str
) -> None:
    body = with_user(registration(kind), password=password)
    users_before = session.scalar(select(func.count(User.id)))

    r = client.post(REGISTER, json=body)

    problem = assert_problem(r, 422, "weak_password")
    assert [e["loc"] for e in problem["errors"]] == [["body", "user", "password"]]
    assert "常见" in problem["detail"]
    assert session.scalar(select(func.count(User.id))) == users_before


@pytest.mark.parametrize("kind", ["enterprise", "university", "institute"])
@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("zhang_wei_2026", "zhang_wei_2026"),
        ("Zhang_Wei_2026", "ZHANG_WEI_2026"),  # the username is stored lower-cased
        ("lingang_steel", "Kq7!lingang_steel"),
        ("lingang_steel", "x-LinGang_Steel-9"),
    ],
)
def test_password_equal_to_or_containing_the_username_is_refused(
    client: TestClient, session: Session, kind: str, username: str, password: str
) -> None:
    body = with_user(registration(kind), username=username, password=password)

    r = client.post(REGISTER, json=body)

    problem = assert_problem(r, 422, "weak_password")
    assert [e["loc"] for e in problem["errors"]] == [["body", "user", "password"]]
    assert "用户名" in problem["detail"]
    assert session.scalar(select(User).where(User.username == username.lower())) is None


def test_name_of_exactly_200_characters_is_accepted(client: TestClient) -> None:
    r = client.post(REGISTER, json=registration(name="名" * 200))

    assert r.status_code == 201, r.text


def test_university_needs_no_credit_code(client: TestClient) -> None:
    r = client.post(REGISTER, json=registration("university"))

    assert r.status_code == 201, r.text
    assert r.json()["credit_code"] is None


def test_malformed_json_is_422_malformed_json(client: TestClient) -> None:
    r = client.post(
        REGISTER, content=b'{"organization": {', headers={"Content-Type": "application/json"}
    )

    assert_problem(r, 422, "malformed_json")


def test_duplicate_username_is_409_username_taken(client: TestClient) -> None:
    first = registration()
    assert client.post(REGISTER, json=first).status_code == 201
    second = with_user(registration(), username=first["user"]["username"].upper())

    assert_problem(client.post(REGISTER, json=second), 409, "username_taken")


def test_username_of_existing_factory_user_is_taken(client: TestClient, session: Session) -> None:
    existing = make_user(session)
    session.commit()

    r = client.post(REGISTER, json=with_user(registration(), username=existing.username))

    assert_problem(r, 409, "username_taken")


def test_duplicate_credit_code_is_409_even_in_full_width(
    client: TestClient, session: Session
) -> None:
    first = registration()
    assert client.post(REGISTER, json=first).status_code == 201
    again = registration(credit_code=full_width(first["organization"]["credit_code"]))

    r = client.post(REGISTER, json=again)

    assert_problem(r, 409, "credit_code_taken")
    assert session.scalar(select(User).where(User.username == again["user"]["username"])) is None


# --- GET /organizations, GET /organizations/{id} -------------------------------------------


@pytest.fixture
def orgs(session: Session) -> dict[str, User]:
    """A user in each kind of organisation, plus an unverified and a rejected enterprise."""
    users = {
        "enterprise": make_user(session),
        "other_enterprise": make_user(session),
        "university": make_user(session, kind=OrganizationKind.university),
        "bureau": make_user(session, kind=OrganizationKind.bureau),
        "unverified": make_user(session, verified=False),
        "rejected": make_user(session, verified=False),
    }
    users["rejected"].organization.status = OrganizationStatus.rejected
    users["colleague"] = make_user(session, organization=users["unverified"].organization)
    session.commit()
    return users


def auth(orgs: dict[str, User], who: str) -> dict[str, str]:
    return {} if who == "anonymous" else headers(orgs[who])


def listed_ids(client: TestClient, who_headers: dict[str, str], query: str = "") -> set[int]:
    r = client.get(f"{ORGS}?limit=100{query}", headers=who_headers)
    assert r.status_code == 200, r.text
    return {item["id"] for item in r.json()["items"]}


@pytest.mark.parametrize("who", ["anonymous", "enterprise", "university", "unverified"])
def test_non_bureau_list_shows_only_verified_organizations(
    client: TestClient, orgs: dict[str, User], who: str
) -> None:
    ids = listed_ids(client, auth(orgs, who))

    assert orgs["enterprise"].organization_id in ids
    assert orgs["university"].organization_id in ids
    assert orgs["unverified"].organization_id not in ids
    assert orgs["rejected"].organization_id not in ids


def test_non_bureau_cannot_list_unverified_by_status_filter(
    client: TestClient, orgs: dict[str, User]
) -> None:
    assert listed_ids(client, {}, "&status=unverified") == set()
    assert listed_ids(client, auth(orgs, "enterprise"), "&status=rejected") == set()


def test_bureau_lists_every_organization_and_filters_by_status(
    client: TestClient, orgs: dict[str, User]
) -> None:
    bureau = auth(orgs, "bureau")

    everyone = listed_ids(client, bureau)
    unverified = listed_ids(client, bureau, "&status=unverified")
    rejected = listed_ids(client, bureau, "&status=rejected")
    verified = listed_ids(client, bureau, "&status=verified")

    assert {u.organization_id for u in orgs.values()} <= everyone
    assert orgs["unverified"].organization_id in unverified
    assert orgs["enterprise"].organization_id not in unverified
    assert rejected >= {orgs["rejected"].organization_id}
    assert orgs["unverified"].organization_id not in rejected
    assert orgs["enterprise"].organization_id in verified
    assert verified.isdisjoint(unverified | rejected)


def test_list_filters_by_kind(client: TestClient, orgs: dict[str, User]) -> None:
    r = client.get(f"{ORGS}?kind=university&limit=100")

    assert r.status_code == 200, r.text
    assert {item["kind"] for item in r.json()["items"]} == {"university"}
    assert orgs["university"].organization_id in {item["id"] for item in r.json()["items"]}


def test_list_answers_the_page_envelope_in_stable_order(
    client: TestClient, orgs: dict[str, User]
) -> None:
    bureau = auth(orgs, "bureau")
    full = client.get(f"{ORGS}?limit=100", headers=bureau).json()

    r = client.get(f"{ORGS}?limit=2&offset=1", headers=bureau)

    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"items", "total", "limit", "offset"}
    assert (body["limit"], body["offset"], body["total"]) == (2, 1, full["total"])
    assert full["total"] >= len(orgs) - 1  # the colleague shares an organisation
    assert [i["id"] for i in body["items"]] == [i["id"] for i in full["items"]][1:3]
    assert [i["id"] for i in full["items"]] == sorted(i["id"] for i in full["items"])


@pytest.mark.parametrize(
    "query", ["limit=101", "limit=0", "offset=-1", "status=approved", "kind=company"]
)
def test_bad_list_query_is_422(client: TestClient, query: str) -> None:
    assert_problem(client.get(f"{ORGS}?{query}"), 422, "validation_error")


@pytest.mark.parametrize(
    ("who", "visible"),
    [
        ("anonymous", False),
        ("other_enterprise", False),
        ("university", False),
        ("rejected", False),
        ("unverified", True),
        ("colleague", True),
        ("bureau", True),
    ],
)
def test_unverified_organization_is_seen_only_by_its_members_and_the_bureau(
    client: TestClient, orgs: dict[str, User], who: str, visible: bool
) -> None:
    org_id = orgs["unverified"].organization_id

    r = client.get(f"{ORGS}/{org_id}", headers=auth(orgs, who))

    if visible:
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "unverified"
    else:
        assert_problem(r, 404, "organization_not_found")


@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous", 404), ("other_enterprise", 404), ("rejected", 200), ("bureau", 200)],
)
def test_rejected_organization_is_seen_only_by_its_members_and_the_bureau(
    client: TestClient, orgs: dict[str, User], who: str, status: int
) -> None:
    r = client.get(f"{ORGS}/{orgs['rejected'].organization_id}", headers=auth(orgs, who))

    assert r.status_code == status, r.text


@pytest.mark.parametrize("who", ["anonymous", "other_enterprise", "university", "unverified"])
def test_verified_organization_is_public(
    client: TestClient, orgs: dict[str, User], who: str
) -> None:
    org = orgs["enterprise"].organization

    r = client.get(f"{ORGS}/{org.id}", headers=auth(orgs, who))

    assert r.status_code == 200, r.text
    assert r.json()["id"] == org.id
    assert r.json()["status"] == "verified"
    assert r.json()["credit_code"] == org.credit_code


def test_unknown_organization_is_404(client: TestClient) -> None:
    assert_problem(client.get(f"{ORGS}/987654321"), 404, "organization_not_found")


@pytest.mark.parametrize("action", ["", "/verify", "/reject"])
def test_out_of_range_organization_id_is_422_not_500(
    client: TestClient, session: Session, action: str
) -> None:
    staff = headers(make_user(session, kind=OrganizationKind.bureau))
    session.commit()
    method = client.post if action else client.get

    for org_id in ["2147483648", "99999999999999999999", "0", "-1", "abc"]:
        assert_problem(method(f"{ORGS}/{org_id}{action}", headers=staff), 422, "validation_error")


# --- POST /organizations/{id}/verify and /reject -----------------------------------------


@pytest.fixture
def applicant(session: Session) -> User:
    user = make_user(session, verified=False)
    session.commit()
    return user


@pytest.mark.parametrize("action", ["verify", "reject"])
@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        ("anonymous", 401, "not_authenticated"),
        ("enterprise", 403, "role_not_allowed"),
        ("university", 403, "role_not_allowed"),
        ("institute", 403, "role_not_allowed"),
        ("expert", 403, "role_not_allowed"),
        ("own member", 403, "role_not_allowed"),
    ],
)
def test_only_the_bureau_decides_on_organizations(
    client: TestClient,
    session: Session,
    applicant: User,
    action: str,
    who: str,
    status: int,
    code: str,
) -> None:
    callers = {
        "enterprise": lambda: make_user(session),
        "university": lambda: make_user(session, kind=OrganizationKind.university),
        "institute": lambda: make_user(session, kind=OrganizationKind.institute),
        "expert": lambda: make_user(session, kind=OrganizationKind.university, role=Role.expert),
        "own member": lambda: applicant,
    }
    caller = None if who == "anonymous" else callers[who]()
    session.commit()

    r = client.post(
        f"{ORGS}/{applicant.organization_id}/{action}",
        json={"reason": "材料不全"} if action == "reject" else None,
        headers=headers(caller) if caller else {},
    )

    assert_problem(r, status, code)
    session.expire_all()
    assert applicant.organization.status is OrganizationStatus.unverified
    assert audit_events(session, applicant.organization_id) == []


@pytest.mark.parametrize("action", ["verify", "reject"])
def test_deciding_on_unknown_organization_is_404(
    client: TestClient, session: Session, action: str
) -> None:
    staff = make_user(session, kind=OrganizationKind.bureau)
    session.commit()

    r = client.post(f"{ORGS}/987654321/{action}", json={"reason": "无"}, headers=headers(staff))

    assert_problem(r, 404, "organization_not_found")


def test_bureau_verifies_organization_and_audit_records_before_and_after(
    client: TestClient, session: Session, applicant: User
) -> None:
    staff = make_user(session, kind=OrganizationKind.bureau)
    org_id = applicant.organization_id

    r = client.post(f"{ORGS}/{org_id}/verify", headers=headers(staff))

    assert r.status_code == 200, r.text
    assert r.json()["status"] == "verified"
    assert client.get(f"{ORGS}/{org_id}").status_code == 200  # now public
    [event] = audit_events(session, org_id)
    assert event.action == "organization.verify"
    assert event.actor_id == staff.id
    assert (event.before, event.after) == ({"status": "unverified"}, {"status": "verified"})


def test_verifying_a_verified_organization_is_409(client: TestClient, session: Session) -> None:
    staff = make_user(session, kind=OrganizationKind.bureau)
    verified = make_user(session)
    session.commit()

    r = client.post(f"{ORGS}/{verified.organization_id}/verify", headers=headers(staff))

    assert_problem(r, 409, "invalid_transition")
    assert audit_events(session, verified.organization_id) == []


def test_bureau_rejects_with_reason_and_audit_keeps_it(
    client: TestClient, session: Session, applicant: User
) -> None:
    staff = make_user(session, kind=OrganizationKind.bureau)
    org_id = applicant.organization_id

    r = client.post(
        f"{ORGS}/{org_id}/reject", json={"reason": "营业执照与名称不符"}, headers=headers(staff)
    )

    assert r.status_code == 200, r.text
    assert r.json()["status"] == "rejected"
    [event] = audit_events(session, org_id)
    assert event.action == "organization.reject"
    assert event.actor_id == staff.id
    assert (event.before, event.after) == ({"status": "unverified"}, {"status": "rejected"})
    assert event.reason == "营业执照与名称不符"
    org = session.get(Organization, org_id)
    assert org is not None
    assert org.reject_reason == "营业执照与名称不符"


def test_rejecting_twice_is_409_but_a_rejected_organization_can_be_verified_later(
    client: TestClient, session: Session, applicant: User
) -> None:
    staff = headers(make_user(session, kind=OrganizationKind.bureau))
    session.commit()
    org_id = applicant.organization_id
    assert client.post(
        f"{ORGS}/{org_id}/reject", json={"reason": "缺材料"}, headers=staff
    ).is_success

    assert_problem(
        client.post(f"{ORGS}/{org_id}/reject", json={"reason": "again"}, headers=staff),
        409,
        "invalid_transition",
    )
    r = client.post(f"{ORGS}/{org_id}/verify", headers=staff)
    assert r.status_code == 200, r.text
    events = audit_events(session, org_id)
    assert [(e.before, e.after) for e in events] == [
        ({"status": "unverified"}, {"status": "rejected"}),
        ({"status": "rejected"}, {"status": "verified"}),
    ]


def test_bureau_organization_cannot_be_rejected(client: TestClient, session: Session) -> None:
    staff = make_user(session, kind=OrganizationKind.bureau)
    session.commit()

    r = client.post(
        f"{ORGS}/{staff.organization_id}/reject", json={"reason": "x"}, headers=headers(staff)
    )

    assert_problem(r, 409, "invalid_transition")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"reason": "原因\x00"}, "validation_error"),
        ({"reason": "因" * 2001}, "validation_error"),
        ({"reason": "   "}, "validation_error"),
        (b'{"reason": ', "malformed_json"),
    ],
)
def test_bad_reject_reason_is_422_and_changes_nothing(
    client: TestClient, session: Session, applicant: User, body: Any, code: str
) -> None:
    staff = make_user(session, kind=OrganizationKind.bureau)
    session.commit()
    url = f"{ORGS}/{applicant.organization_id}/reject"

    if isinstance(body, bytes):
        r = client.post(
            url, content=body, headers={**headers(staff), "Content-Type": "application/json"}
        )
    else:
        r = client.post(url, json=body, headers=headers(staff))

    assert_problem(r, 422, code)
    session.expire_all()
    assert applicant.organization.status is OrganizationStatus.unverified


def test_unverified_enterprise_may_create_challenge_only_after_verification(
    client: TestClient, session: Session
) -> None:
    body = registration()
    org_id = client.post(REGISTER, json=body).json()["id"]
    token = client.post(
        "/api/v1/auth/token",
        data={"username": body["user"]["username"], "password": PASSWORD},
    ).json()["access_token"]
    own = {"Authorization": f"Bearer {token}"}
    staff = make_user(session, kind=OrganizationKind.bureau)
    session.commit()

    refused = client.post("/api/v1/challenges", json=challenge_body(), headers=own)
    assert_problem(refused, 403, "organization_not_verified")
    assert client.post(f"{ORGS}/{org_id}/verify", headers=headers(staff)).status_code == 200

    created = client.post("/api/v1/challenges", json=challenge_body(), headers=own)

    assert created.status_code == 201, created.text
    assert created.json()["status"] == "draft"


def test_rejected_enterprise_cannot_create_challenge(client: TestClient, session: Session) -> None:
    user = make_user(session, verified=False)
    user.organization.status = OrganizationStatus.rejected
    session.commit()

    r = client.post("/api/v1/challenges", json=challenge_body(), headers=headers(user))

    assert_problem(r, 403, "organization_rejected")


def test_rule_messages_are_the_rules_own_chinese_text(client: TestClient) -> None:
    body = with_user(registration(name="朝阳\x00钢铁"), display_name="张\n伟")

    problem = assert_problem(client.post(REGISTER, json=body), 422, "validation_error")

    assert {tuple(e["loc"]): e["msg"] for e in problem["errors"]} == {
        ("body", "organization", "name"): "不能包含控制字符",
        ("body", "user", "display_name"): "不能包含换行或制表符",
    }
