"""API-wide conventions: problem details, offline docs, OpenAPI, CORS, bounded input."""

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.config import get_settings
from app.main import create_app
from app.models import OrganizationKind
from tests.factories import headers, make_user

PROBLEM = "application/problem+json"


def _is_problem(response: object, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"].startswith(PROBLEM)  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert body["status"] == status
    assert body["code"] == code
    assert body["title"]
    assert body["detail"]
    return body


def test_docs_page_loads_its_assets_from_the_app_itself(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    hosts = re.findall(r"(?:https?:)?//([\w.-]+)", page.text)
    assert hosts == [], f"docs page names external hosts: {hosts}"
    for asset in re.findall(r'(?:href|src)="(/[^"]+)"', page.text):
        assert client.get(asset).status_code == 200, asset


def test_openapi_documents_every_route_with_a_tag_summary_and_errors(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "Problem" in spec["components"]["schemas"]
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            assert op.get("tags"), f"{method} {path} has no tag"
            assert op.get("summary"), f"{method} {path} has no summary"
            if path.startswith("/api/v1"):
                assert any(code.startswith("4") for code in op["responses"]), f"{method} {path}"


def test_unknown_route_is_a_problem(client: TestClient) -> None:
    _is_problem(client.get("/api/v1/nothing-here"), 404, "not_found")


def test_wrong_method_names_every_allowed_method(client: TestClient) -> None:
    response = client.delete("/api/v1/challenges")
    _is_problem(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "GET, POST"


def test_malformed_json_is_a_clear_422(client: TestClient, session: Session) -> None:
    response = client.post(
        "/api/v1/organizations/register",
        content=b'{"organization": ',
        headers={"content-type": "application/json"},
    )
    _is_problem(response, 422, "malformed_json")


def test_validation_errors_name_the_field(client: TestClient) -> None:
    body = _is_problem(
        client.post("/api/v1/organizations/register", json={"organization": {}}),
        422,
        "validation_error",
    )
    locs = [tuple(e["loc"]) for e in body["errors"]]  # type: ignore[union-attr]
    assert ("body", "user") in locs


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=101", "limit=100000000000000000000000", "offset=-1"]
)
def test_out_of_range_paging_is_refused_not_a_500(client: TestClient, query: str) -> None:
    _is_problem(client.get(f"/api/v1/challenges?{query}"), 422, "validation_error")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/challenges/99999999999999999999999",
        "/api/v1/organizations/99999999999999999999999",
        "/api/v1/capabilities/-1",
    ],
)
def test_absurd_ids_are_refused_not_a_500(client: TestClient, path: str) -> None:
    assert client.get(path).status_code in {404, 422}


def test_nul_in_a_search_query_is_refused_not_a_500(client: TestClient) -> None:
    _is_problem(
        client.get("/api/v1/challenges", params={"q": "氮化\x00硼"}), 422, "validation_error"
    )


def test_list_envelope_and_limit_cap(client: TestClient, session: Session) -> None:
    viewer = make_user(session)
    body = client.get("/api/v1/challenges?limit=5&offset=0", headers=headers(viewer)).json()
    assert set(body) == {"items", "total", "limit", "offset"}
    assert (body["limit"], body["offset"]) == (5, 0)


def test_cors_origins_come_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ORIGINS", "http://portal.example.cn")
    get_settings.cache_clear()
    try:
        app = create_app()
    finally:
        get_settings.cache_clear()
    with TestClient(app) as client:
        allowed = client.options(
            "/api/v1/challenges",
            headers={"Origin": "http://portal.example.cn", "Access-Control-Request-Method": "GET"},
        )
        denied = client.options(
            "/api/v1/challenges",
            headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"},
        )
    assert allowed.headers["access-control-allow-origin"] == "http://portal.example.cn"
    assert "access-control-allow-origin" not in denied.headers


def _query_parameters(client: TestClient) -> list[tuple[str, str, str]]:
    """(method, path with its ids filled in, parameter) for every query parameter of the API."""
    spec = client.get("/openapi.json").json()
    found = []
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            for param in op.get("parameters", []):
                if param["in"] == "query":
                    found.append((method, re.sub(r"\{[^}]+\}", "1", path), param["name"]))
    return found


def test_every_query_parameter_refuses_control_characters(
    client: TestClient, session: Session
) -> None:
    staff = headers(make_user(session, kind=OrganizationKind.bureau))
    params = _query_parameters(client)
    assert ("get", "/api/v1/audit-events", "object_type") in params
    assert len(params) >= 20

    for method, path, name in params:
        for bad in ["\x00", "a\tb", "a\x85b"]:
            r = client.request(method, path, params={name: bad}, headers=staff)
            problem = _is_problem(r, 422, "validation_error")
            assert ["query", name] in [e["loc"] for e in problem["errors"]], (method, path, name)  # type: ignore[union-attr]


def test_nul_in_an_audit_filter_is_422_not_a_database_error(
    client: TestClient, session: Session
) -> None:
    staff = headers(make_user(session, kind=OrganizationKind.bureau))

    r = client.get("/api/v1/audit-events?object_type=%00", headers=staff)

    problem = _is_problem(r, 422, "validation_error")
    assert problem["errors"] == [
        {
            "loc": ["query", "object_type"],
            "msg": "查询参数不能包含控制字符",
            "type": "control_character",
        }
    ]


def test_control_character_in_a_query_parameter_name_is_refused(client: TestClient) -> None:
    r = client.get("/api/v1/challenges?q%00x=1&limit=5")

    problem = _is_problem(r, 422, "validation_error")
    assert [e["loc"] for e in problem["errors"]] == [["query", "q\x00x"]]  # type: ignore[union-attr]


def test_ordinary_chinese_query_values_still_work(client: TestClient) -> None:
    assert client.get("/api/v1/challenges", params={"q": "氮化硼 坩埚"}).status_code == 200


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deeply_nested_json_is_a_422_problem(client: TestClient, depth: int) -> None:
    for body in ["[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth]:
        response = client.post(
            "/api/v1/organizations/register",
            content=body.encode(),
            headers={"content-type": "application/json"},
        )
        problem = _is_problem(response, 422, "malformed_json")
        assert problem["errors"] == [
            {"loc": ["body"], "msg": problem["detail"], "type": "json_invalid"}
        ]


def test_json_body_that_is_not_utf8_is_a_422_problem(client: TestClient) -> None:
    response = client.post(
        "/api/v1/organizations/register",
        content=b'{"organization": "\xff\xfe"}',
        headers={"content-type": "application/json"},
    )
    _is_problem(response, 422, "malformed_json")


@pytest.mark.parametrize("char", ["\u200b", "\u200f", "\u202e", "\u2060", "\u2067", "\ufeff"])
def test_single_line_titles_refuse_invisible_characters(
    client: TestClient, session: Session, char: str
) -> None:
    enterprise = headers(make_user(session))
    university = headers(make_user(session, kind=OrganizationKind.university))
    challenge = {
        "title": f"高纯{char}坩埚",
        "description": "描述",
        "indicators": [{"name": "纯度", "target": "≥99.99", "unit": "%"}],
        "sector": "industry",
        "budget": "120.00",
        "deadline": "2099-01-01T00:00:00+08:00",
        "region": "211302",
    }
    indicator = {
        **challenge,
        "title": "高纯坩埚",
        "indicators": [{"name": f"纯{char}度", "target": "≥99.99"}],
    }
    capability = {"title": f"陶瓷{char}团队", "description": "描述"}

    for path, body, who, loc in [
        ("/api/v1/challenges", challenge, enterprise, ["body", "title"]),
        ("/api/v1/challenges", indicator, enterprise, ["body", "indicators", 0, "name"]),
        ("/api/v1/capabilities", capability, university, ["body", "title"]),
    ]:
        problem = _is_problem(client.post(path, json=body, headers=who), 422, "validation_error")
        assert [e["loc"] for e in problem["errors"]] == [loc]  # type: ignore[union-attr]


def test_term_list_uses_the_list_envelope(client: TestClient, session: Session) -> None:
    staff = make_user(session, kind=OrganizationKind.bureau)
    for term in ("热解氮化硼坩埚", "化学气相沉积", "半导体单晶"):
        added = client.post("/api/v1/matching/terms", json={"term": term}, headers=headers(staff))
        assert added.status_code == 201, added.text
    body = client.get("/api/v1/matching/terms?limit=2&offset=1", headers=headers(staff)).json()
    assert set(body) == {"items", "total", "limit", "offset"}
    assert (body["total"], body["limit"], body["offset"]) == (3, 2, 1)
    assert [t["term"] for t in body["items"]] == ["化学气相沉积", "半导体单晶"]
