"""GET /challenges/export: the bureau's CSV and XLSX of what the list's filters select."""

import io
from datetime import timedelta
from decimal import Decimal
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from app import db
from app.models import ChallengeStatus, OrganizationKind, Sector, User
from app.services.challenge_io import HEADERS
from app.spreadsheets import read_rows
from tests.factories import headers, make_challenge, make_user
from tests.problems import assert_problem

URL = "/api/v1/challenges/export"
S = ChallengeStatus


@pytest.fixture
def staff(session: Session) -> User:
    return make_user(session, kind=OrganizationKind.bureau)


@pytest.fixture
def owner(session: Session) -> User:
    return make_user(session)


def _csv(client: TestClient, staff: User, **params: str) -> list[dict[str, str]]:
    answer = client.get(URL, params=params, headers=headers(staff))
    assert answer.status_code == 200, answer.text
    found_headers, rows = read_rows("export.csv", answer.content)
    assert found_headers == HEADERS
    return [dict(zip(HEADERS, row, strict=True)) for row in rows]


def test_csv_is_utf8_with_a_bom_chinese_headers_and_an_attachment(
    client: TestClient, session: Session, staff: User, owner: User
) -> None:
    challenge = make_challenge(session, owner=owner, title="高纯＂坩埚＂（全角）")
    answer = client.get(URL, headers=headers(staff))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.content.startswith(b"\xef\xbb\xbf")
    disposition = answer.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert 'filename="challenges.csv"' in disposition
    local = f"{db.utcnow().astimezone(db.CHINA):%Y%m%d}"
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == f"榜单导出-{local}.csv"
    [row] = _csv(client, staff)
    assert row["编号"] == str(challenge.id)
    assert row["标题"] == "高纯＂坩埚＂（全角）"
    assert row["技术指标"] == "纯度|≥99.99|%"
    assert row["行业领域"] == "工业"
    assert row["预算（万元）"] == "100.00"
    assert row["发榜单位统一社会信用代码"] == owner.organization.credit_code
    assert row["发榜单位"] == owner.organization.name
    assert row["状态"] == "已发布"
    deadline = challenge.deadline.astimezone(db.CHINA).isoformat()
    assert row["揭榜截止时间"] == deadline
    assert deadline.endswith("+08:00")


def test_xlsx_is_a_workbook_with_budget_as_a_two_decimal_number(
    client: TestClient, session: Session, staff: User, owner: User
) -> None:
    make_challenge(session, owner=owner, title='=HYPERLINK("http://x")')
    answer = client.get(URL, params={"format": "xlsx"}, headers=headers(staff))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert "filename*=UTF-8''" in answer.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(answer.content)).worksheets[0]
    assert [c.value for c in sheet[1]] == HEADERS
    budget = sheet.cell(row=2, column=HEADERS.index("预算（万元）") + 1)
    assert budget.value == 100
    assert budget.number_format == "#,##0.00"
    title = sheet.cell(row=2, column=HEADERS.index("标题") + 1)
    # Text, never a formula: the enterprise's title cannot run in the bureau's Excel.
    assert title.data_type == "s"
    assert title.value == '=HYPERLINK("http://x")'


def test_csv_cells_that_excel_would_run_get_an_apostrophe(
    client: TestClient, session: Session, staff: User, owner: User
) -> None:
    make_challenge(session, owner=owner, title="=1+1", description="- 第一条\n- 第二条")
    [row] = _csv(client, staff)
    assert row["标题"] == "'=1+1"
    assert row["问题描述"] == "'- 第一条\n- 第二条"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"published", "draft_a", "other_sector", "other_region", "other_org"}),
        ({"status": "draft"}, {"draft_a"}),
        ({"status": "closed"}, {"expired"}),
        ({"sector": "agriculture"}, {"other_sector"}),
        ({"region": "211303"}, {"other_region"}),
        ({"q": "坩埚"}, {"published", "draft_a", "other_sector", "other_region"}),
        ({"q": "独特"}, {"other_org"}),
    ],
)
def test_filters_select_what_the_list_selects(
    client: TestClient,
    session: Session,
    staff: User,
    owner: User,
    params: dict[str, str],
    expected: set[str],
) -> None:
    other = make_user(session)
    titles = {
        "published": make_challenge(session, owner=owner, title="published 坩埚"),
        "draft_a": make_challenge(session, owner=owner, status=S.draft, title="draft_a 坩埚"),
        "other_sector": make_challenge(
            session, owner=owner, sector=Sector.agriculture, title="other_sector 坩埚"
        ),
        "other_region": make_challenge(
            session, owner=owner, region="211303", title="other_region 坩埚"
        ),
        "other_org": make_challenge(
            session, owner=other, title="other_org 独特", description="独特的问题"
        ),
    }
    # Published, but its deadline has passed: it reads (and filters) as closed.
    expired = make_challenge(session, owner=owner, title="expired", description="过期")
    expired.deadline = db.utcnow() - timedelta(days=1)
    session.flush()
    titles["expired"] = expired
    if not params:
        expected = expected | {"expired"}
    rows = _csv(client, staff, **params)
    assert {r["标题"].split()[0] for r in rows} == expected
    listed = client.get(
        "/api/v1/challenges", params={**params, "limit": "100"}, headers=headers(staff)
    ).json()["items"]
    assert {int(r["编号"]) for r in rows} == {c["id"] for c in listed}


def test_filter_by_organization(
    client: TestClient, session: Session, staff: User, owner: User
) -> None:
    other = make_user(session)
    make_challenge(session, owner=owner)
    mine = make_challenge(session, owner=other)
    rows = _csv(client, staff, organization_id=str(other.organization_id))
    assert [int(r["编号"]) for r in rows] == [mine.id]


def test_newest_first_and_an_empty_selection_is_just_the_headers(
    client: TestClient, session: Session, staff: User, owner: User
) -> None:
    first = make_challenge(session, owner=owner)
    second = make_challenge(session, owner=owner)
    assert [int(r["编号"]) for r in _csv(client, staff)] == [second.id, first.id]
    answer = client.get(URL, params={"sector": "services"}, headers=headers(staff))
    assert answer.content.decode("utf-8-sig").strip() == ",".join(HEADERS)


@pytest.mark.parametrize("kind", [OrganizationKind.enterprise, OrganizationKind.university])
def test_only_the_bureau_exports(
    client: TestClient, session: Session, kind: OrganizationKind
) -> None:
    user = make_user(session, kind=kind)
    assert_problem(client.get(URL, headers=headers(user)), 403, "role_not_allowed")


def test_anonymous_export_is_401(client: TestClient) -> None:
    assert_problem(client.get(URL), 401, "not_authenticated")


@pytest.mark.parametrize(
    "params",
    [{"format": "pdf"}, {"status": "nope"}, {"region": "999999"}, {"organization_id": "0"}],
)
def test_bad_parameters_are_422(client: TestClient, staff: User, params: dict[str, str]) -> None:
    assert_problem(client.get(URL, params=params, headers=headers(staff)), 422, "validation_error")


def test_export_is_not_read_as_a_challenge_id(client: TestClient, staff: User) -> None:
    # Registered before GET /challenges/{challenge_id}: "export" is never a 422 id.
    assert client.get(URL, headers=headers(staff)).status_code == 200


def test_openapi_declares_both_media_types(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    export = spec["paths"]["/api/v1/challenges/export"]["get"]
    content = export["responses"]["200"]["content"]
    assert set(content) == {
        "text/csv",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
    assert export["operationId"] == "exportChallenges"
    body = spec["paths"]["/api/v1/challenges/import"]["post"]["requestBody"]
    assert "multipart/form-data" in body["content"]


def test_budget_keeps_its_cents(
    client: TestClient, session: Session, staff: User, owner: User
) -> None:
    challenge = make_challenge(session, owner=owner)
    challenge.budget = Decimal("1234567.05")
    session.flush()
    [row] = _csv(client, staff)
    assert row["预算（万元）"] == "1234567.05"
