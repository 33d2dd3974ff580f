"""POST /challenges/import: drafts from a CSV or XLSX in the export's layout, all or none."""

import io
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import db
from app.models import (
    AuditEvent,
    Challenge,
    ChallengeStatus,
    MatchDocument,
    Organization,
    OrganizationKind,
    OrganizationStatus,
    User,
)
from app.services import challenge_io
from app.spreadsheets import Table, csv_bytes, xlsx_bytes
from tests.factories import credit_code, headers, make_user
from tests.problems import assert_problem

URL = "/api/v1/challenges/import"
EXPORT = "/api/v1/challenges/export"
FIELDS = (
    "title",
    "description",
    "indicators",
    "expected_outcome",
    "sector",
    "tags",
    "budget",
    "deadline",
    "region",
    "contact",
    "organization_id",
)
# What people type into the export's columns (the ones an import reads).
COLUMNS = [h for h, field in challenge_io.COLUMNS.items() if field] + [challenge_io.CREDIT_CODE]


@pytest.fixture
def staff(session: Session) -> User:
    return make_user(session, kind=OrganizationKind.bureau)


@pytest.fixture
def owner(session: Session) -> User:
    return make_user(session)


def row(owner: User, **cells: str) -> dict[str, str]:
    """A valid row for `owner`, with some cells replaced (by their Chinese header)."""
    values = {
        "标题": "高纯热解氮化硼坩埚制备工艺",
        "问题描述": "现有坩埚纯度不足。",
        "技术指标": "纯度|≥99.99|%",
        "预期成果": "工艺包",
        "行业领域": "工业",
        "标签": "热解氮化硼、半导体材料",
        "预算（万元）": "300.00",
        "揭榜截止时间": "2099-03-31T17:00:00+08:00",
        "所属区域": "211302",
        "联系方式": "李工",
        challenge_io.CREDIT_CODE: owner.organization.credit_code or "",
    }
    values.update(cells)
    return values


def sheet(rows: list[dict[str, str]], headers_: list[str] | None = None) -> Table:
    names = headers_ or COLUMNS
    return Table("榜单", names, [[r.get(h, "") for h in names] for r in rows])


def upload(client: TestClient, user: User | None, data: bytes, name: str = "榜单.csv") -> Any:
    auth = headers(user) if user is not None else {}
    return client.post(URL, files={"file": (name, data, "application/octet-stream")}, headers=auth)


def count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Challenge)) or 0


def errors_of(answer: Any, code: str = "import_invalid") -> list[tuple[int, str | None, str]]:
    problem = assert_problem(answer, 422, code)
    for error in problem["errors"]:
        if "row" in error:
            expected = ["file", error["row"]] + ([error["column"]] if "column" in error else [])
            assert error["loc"] == expected
    return [(e.get("row"), e.get("column"), e["type"]) for e in problem["errors"]]


# --- round trip ------------------------------------------------------------------------------


TRICKY = [
    {
        "title": "=高纯＂热解＂氮化硼（ＰＢＮ）坩埚",
        "description": "- 现有坩埚纯度不足，高温析出杂质；\n- 良率低|需要攻关、优化，\\ 全角　空格",
        "indicators": [
            {"name": "纯度", "target": "≥99.99", "unit": "%"},
            {"name": "密度；体积|质量", "target": "≥2.1", "unit": "g/cm³"},
            {"name": "外观", "target": "", "unit": ""},
            {"name": "＋耐温", "target": "", "unit": "℃"},
        ],
        "expected_outcome": "@形成可量产的工艺包，“中试”",
        "sector": "industry",
        "budget": "1234567.89",
        "deadline": "2099-03-31T17:00:00.123456+08:00",
        "region": "211302",
        "tags": ["热解氮化硼", "半导体、材料", "a,b", "'引号", "Ｆｕｌｌ"],
        "contact": "+86 0421-0000000",
    },
    {
        "title": "玉米秸秆饲料化",
        "description": "秸秆利用率低。",
        "indicators": [],
        "expected_outcome": "",
        "sector": "agriculture",
        "budget": "0",
        "deadline": "2099-01-01T00:00:00Z",
        "region": "211303",
        "tags": [],
        "contact": "",
    },
    {
        "title": "物流调度平台",
        "description": "调度靠人工。",
        "indicators": [{"name": "效率", "target": "提升30%", "unit": ""}],
        "expected_outcome": "平台上线",
        "sector": "services",
        "budget": "50.5",
        "deadline": "2099-06-30T09:30:00-05:00",
        "region": "211302",
        "tags": ["调度"],
        "contact": "王工",
    },
]


def _snapshot(challenge: Challenge) -> dict[str, Any]:
    return {field: getattr(challenge, field) for field in FIELDS}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_imported_again_gives_the_same_challenges(
    client: TestClient, session: Session, staff: User, owner: User, fmt: str
) -> None:
    other = make_user(session)
    originals = []
    for index, body in enumerate(TRICKY):
        author = owner if index != 1 else other
        answer = client.post("/api/v1/challenges", json=body, headers=headers(author))
        assert answer.status_code == 201, answer.text
        originals.append(answer.json()["id"])
    exported = client.get(EXPORT, params={"format": fmt}, headers=headers(staff))
    assert exported.status_code == 200, exported.text
    before = count(session)

    answer = upload(client, staff, exported.content, f"榜单导出.{fmt}")
    assert answer.status_code == 201, answer.text
    result = answer.json()
    assert result["created"] == 3
    assert count(session) == before + 3

    session.expire_all()
    # The export is newest first: its rows, and so the new ids, come in reverse order.
    pairs = zip(reversed(originals), result["ids"], strict=True)
    for original_id, new_id in pairs:
        original, copy = session.get(Challenge, original_id), session.get(Challenge, new_id)
        assert original is not None
        assert copy is not None
        assert _snapshot(copy) == _snapshot(original)
        assert copy.status is ChallengeStatus.draft
        assert copy.created_by_id == staff.id
    first = session.get(Challenge, result["ids"][-1])
    assert first is not None
    assert first.title == TRICKY[0]["title"]
    assert first.budget == Decimal("1234567.89")
    assert first.deadline == datetime.fromisoformat(TRICKY[0]["deadline"])


def test_imported_drafts_are_audited_matchable_and_their_owners(
    client: TestClient, session: Session, staff: User, owner: User
) -> None:
    answer = upload(client, staff, csv_bytes(sheet([row(owner), row(owner, 标题="第二个")])))
    assert answer.status_code == 201, answer.text
    ids = answer.json()["ids"]
    events = session.scalars(
        select(AuditEvent).where(
            AuditEvent.object_type == "challenge", AuditEvent.object_id.in_(ids)
        )
    ).all()
    assert sorted((e.object_id, e.action, e.actor_id) for e in events) == [
        (ids[0], "challenge.create", staff.id),
        (ids[1], "challenge.create", staff.id),
    ]
    assert {e.reason for e in events} == {
        "科技局导入：榜单.csv 第 2 行",
        "科技局导入：榜单.csv 第 3 行",
    }
    documents = session.scalars(
        select(MatchDocument.object_id).where(
            MatchDocument.kind == "challenge", MatchDocument.object_id.in_(ids)
        )
    ).all()
    assert sorted(documents) == ids
    # The owner sees its new drafts, and may submit them like its own.
    mine = client.get(
        "/api/v1/challenges", params={"status": "draft"}, headers=headers(owner)
    ).json()
    assert {c["id"] for c in mine["items"]} == set(ids)
    submitted = client.post(f"/api/v1/challenges/{ids[0]}/submit", headers=headers(owner))
    assert submitted.status_code == 200, submitted.text


def test_what_people_type_is_read_too(
    client: TestClient, session: Session, staff: User, owner: User
) -> None:
    typed = row(
        owner,
        技术指标="纯度|≥99.99|%;密度｜2.1\n外观",
        标签="a, b，c、d",
        行业领域="agriculture",
        揭榜截止时间="2099-03-31 17:00",
        **{"预算（万元）": "1,234.5", "所属区域": "２１１３０２"},
    )
    typed[challenge_io.CREDIT_CODE] = typed[challenge_io.CREDIT_CODE].lower()
    names = [h.replace("（万元）", "(万元)") for h in COLUMNS]  # half-width brackets
    renamed = {h.replace("（万元）", "(万元)"): v for h, v in typed.items()}
    answer = upload(client, staff, csv_bytes(sheet([renamed], names)))
    assert answer.status_code == 201, answer.text
    challenge = session.get(Challenge, answer.json()["ids"][0])
    assert challenge is not None
    assert challenge.indicators == [
        {"name": "纯度", "target": "≥99.99", "unit": "%"},
        {"name": "密度", "target": "2.1", "unit": ""},
        {"name": "外观", "target": "", "unit": ""},
    ]
    assert challenge.tags == ["a", "b", "c", "d"]
    assert challenge.budget == Decimal("1234.50")
    assert challenge.region == "211302"
    # A time without a zone is China time.
    assert challenge.deadline == datetime(2099, 3, 31, 17, tzinfo=db.CHINA)


def test_an_excel_date_cell_is_china_time_and_extra_columns_are_ignored(
    client: TestClient, session: Session, staff: User, owner: User
) -> None:
    book = Workbook()
    sheet_ = book.active
    assert sheet_ is not None
    names = [*COLUMNS, "编号", "状态", "备注"]
    sheet_.append(names)
    values: list[Any] = [row(owner).get(h, "") for h in COLUMNS] + ["99", "已发布", "随便"]
    values[COLUMNS.index("揭榜截止时间")] = datetime(2099, 3, 31, 17, 0)
    values[COLUMNS.index("预算（万元）")] = 300.5
    sheet_.append(values)
    out = io.BytesIO()
    book.save(out)
    answer = upload(client, staff, out.getvalue(), "typed.xlsx")
    assert answer.status_code == 201, answer.text
    challenge = session.get(Challenge, answer.json()["ids"][0])
    assert challenge is not None
    assert challenge.deadline == datetime(2099, 3, 31, 17, tzinfo=db.CHINA)
    assert challenge.budget == Decimal("300.50")
    assert challenge.status is ChallengeStatus.draft


# --- errors by row and column; nothing written ------------------------------------------------


def test_every_kind_of_bad_cell_is_reported_by_row_and_column_and_nothing_is_written(
    client: TestClient, session: Session, staff: User, owner: User
) -> None:
    unverified = make_user(session, verified=False)
    rejected = make_user(session)
    rejected.organization.status = OrganizationStatus.rejected
    university = Organization(
        kind=OrganizationKind.university,
        name="某大学",
        credit_code=credit_code(990001),
        region="211302",
        status=OrganizationStatus.verified,
    )
    session.add(university)
    session.flush()
    code = challenge_io.CREDIT_CODE
    rows = [
        row(owner),  # row 2: valid, and still not written
        row(owner, 标题=""),  # 3
        row(owner, 标题="长" * 201),  # 4
        row(owner, 行业领域="矿业"),  # 5
        row(owner, **{"预算（万元）": "12.345"}),  # 6
        row(owner, **{"预算（万元）": "-1"}),  # 7
        row(owner, **{"预算（万元）": "三百万"}),  # 8
        row(owner, 揭榜截止时间="2020-01-01T00:00:00+08:00"),  # 9
        row(owner, 揭榜截止时间="下周五"),  # 10
        row(owner, 所属区域="110000"),  # 11
        row(owner, 技术指标="纯度|≥99|%|多余"),  # 12
        row(owner, 技术指标="|≥99|%"),  # 13
        row(owner, 标签="、".join(f"标签{i}" for i in range(21))),  # 14
        row(owner, 标签="长" * 31),  # 15
        row(owner, **{code: ""}),  # 16
        row(owner, **{code: credit_code(999999)}),  # 17
        row(owner, **{code: unverified.organization.credit_code or ""}),  # 18
        row(owner, **{code: rejected.organization.credit_code or ""}),  # 19
        row(owner, **{code: university.credit_code or ""}),  # 20
        row(owner, 问题描述="", 所属区域=""),  # 21: two problems in one row
        row(owner, **{code: "91211302\x00MA"}),  # 22: never sent to the database
    ]
    before = count(session)
    found = errors_of(upload(client, staff, csv_bytes(sheet(rows))))
    assert found == [
        (3, "标题", "missing"),
        (4, "标题", "string_too_long"),
        (5, "行业领域", "enum"),
        (6, "预算（万元）", "decimal_max_places"),
        (7, "预算（万元）", "greater_than_equal"),
        (8, "预算（万元）", "decimal_parsing"),
        (9, "揭榜截止时间", "value_error"),
        (10, "揭榜截止时间", "datetime_from_date_parsing"),
        (11, "所属区域", "value_error"),
        (12, "技术指标", "cell_format"),
        (13, "技术指标", "string_too_short"),
        (14, "标签", "too_long"),
        (15, "标签", "string_too_long"),
        (16, code, "missing"),
        (17, code, "unknown_organization"),
        (18, code, "organization_not_verified"),
        (19, code, "organization_not_verified"),
        (20, code, "role_not_allowed"),
        (21, "问题描述", "missing"),
        (21, "所属区域", "missing"),
        (22, code, "unknown_organization"),
    ]
    assert count(session) == before


def test_messages_are_chinese_and_name_the_item(
    client: TestClient, session: Session, staff: User, owner: User
) -> None:
    rows = [row(owner, 行业领域="矿业", 技术指标="纯度|≥99|%；|≥1", 标签="好、" + "长" * 31)]
    problem = assert_problem(upload(client, staff, csv_bytes(sheet(rows))), 422, "import_invalid")
    messages = {e["column"]: e["msg"] for e in problem["errors"]}
    assert messages["行业领域"] == "应为：农业、工业、服务业"
    assert messages["技术指标"].startswith("第 2 项指标的名称：")
    assert messages["标签"].startswith("第 2 个标签：")
    assert "1 处错误" not in problem["detail"]
    assert "3 处错误" in problem["detail"]


def test_row_numbers_are_the_sheets_even_after_blank_rows(
    client: TestClient, session: Session, staff: User, owner: User
) -> None:
    table = sheet([row(owner), row(owner, 标题="")])
    table.rows.insert(1, [""] * len(COLUMNS))  # a blank row 3
    assert errors_of(upload(client, staff, csv_bytes(table))) == [(4, "标题", "missing")]
    table_xlsx = xlsx_bytes([table])
    assert errors_of(upload(client, staff, table_xlsx, "a.xlsx")) == [(4, "标题", "missing")]


def test_missing_and_repeated_columns_are_named(
    client: TestClient, session: Session, staff: User, owner: User
) -> None:
    names = [h for h in COLUMNS if h not in {"预算（万元）", challenge_io.CREDIT_CODE}]
    answer = upload(client, staff, csv_bytes(sheet([row(owner)], names)))
    problem = assert_problem(answer, 422, "import_invalid")
    assert "预算（万元）" in problem["detail"]
    assert challenge_io.CREDIT_CODE in problem["detail"]
    assert errors_of(answer) == [(1, None, "missing_columns")]
    repeated = upload(client, staff, csv_bytes(sheet([row(owner)], [*COLUMNS, "标题"])))
    assert errors_of(repeated) == [(1, "标题", "duplicate_column")]


def test_optional_columns_may_be_left_out(
    client: TestClient, session: Session, staff: User, owner: User
) -> None:
    names = [h for h in COLUMNS if h not in {"技术指标", "预期成果", "标签", "联系方式"}]
    answer = upload(client, staff, csv_bytes(sheet([row(owner)], names)))
    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("a.csv", b"", "import_unreadable"),
        ("a.csv", b"\xef\xbb\xbf\r\n\r\n", "import_unreadable"),
        ("a.csv", "标题,问题描述".encode("gbk"), "import_unreadable"),
        ("a.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "import_unreadable"),
        ("a.xlsx", b"PK\x03\x04 not a zip", "import_unreadable"),
        ("a.xlsx", b"plain text", "import_unreadable"),
        ("a.csv", b'a\n"' + b"x" * 200_000 + b'"\n', "import_unreadable"),
        ("a.csv", ",".join(COLUMNS).encode(), "import_invalid"),  # headers, no rows
        ("a.txt", "这不是表格\n只是文字".encode(), "import_invalid"),  # no known columns
    ],
)
def test_files_that_are_not_a_sheet_of_challenges_are_422(
    client: TestClient, session: Session, staff: User, name: str, data: bytes, code: str
) -> None:
    before = count(session)
    problem = assert_problem(upload(client, staff, data, name), 422, code)
    assert problem["errors"][0]["loc"][0] == "file"
    assert count(session) == before


def test_too_many_rows_is_422(
    client: TestClient, session: Session, staff: User, owner: User, monkeypatch: Any
) -> None:
    monkeypatch.setattr("app.spreadsheets.MAX_ROWS", 2)
    data = csv_bytes(sheet([row(owner)] * 3))
    problem = assert_problem(upload(client, staff, data), 422, "import_unreadable")
    assert "最多导入 2 行" in problem["detail"]


def test_at_most_a_hundred_errors_are_listed(
    client: TestClient, session: Session, staff: User, owner: User
) -> None:
    data = csv_bytes(sheet([row(owner, 标题="")] * 150))
    problem = assert_problem(upload(client, staff, data), 422, "import_invalid")
    assert len(problem["errors"]) == 100
    assert "150 处错误" in problem["detail"]
    assert "前 100 处" in problem["detail"]


def test_a_body_over_the_limit_is_413_before_it_is_read(
    client: TestClient, session: Session, staff: User
) -> None:
    answer = upload(client, staff, b"x" * (1024 * 1024 + 1))
    assert_problem(answer, 413, "payload_too_large")


def test_the_field_must_be_a_file(client: TestClient, staff: User) -> None:
    answer = client.post(URL, data={"other": "x"}, headers=headers(staff))
    problem = assert_problem(answer, 422, "validation_error")
    assert problem["errors"][0]["loc"] == ["body", "file"]


# --- who may import ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [OrganizationKind.enterprise, OrganizationKind.university])
def test_only_the_bureau_imports(
    client: TestClient, session: Session, owner: User, kind: OrganizationKind
) -> None:
    user = owner if kind is OrganizationKind.enterprise else make_user(session, kind=kind)
    before = count(session)
    answer = upload(client, user, csv_bytes(sheet([row(owner)])))
    assert_problem(answer, 403, "role_not_allowed")
    assert count(session) == before


def test_a_file_name_with_control_characters_is_audited_without_them(
    client: TestClient, session: Session, staff: User, owner: User
) -> None:
    answer = upload(client, staff, csv_bytes(sheet([row(owner)])), "a\x00b\x1f.csv")
    assert answer.status_code == 201, answer.text
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.object_id == answer.json()["ids"][0])
    ).one()
    # (httpx sends them percent-encoded; the service takes off any that arrive raw.)
    assert event.reason is not None
    assert not any(ord(char) < 0x20 for char in event.reason)


def test_anonymous_import_is_401(client: TestClient, session: Session, owner: User) -> None:
    assert_problem(upload(client, None, csv_bytes(sheet([row(owner)]))), 401, "not_authenticated")


def test_a_deadline_just_past_is_refused_like_on_create(
    client: TestClient, session: Session, staff: User, owner: User
) -> None:
    past = (db.utcnow() - timedelta(minutes=1)).isoformat()
    answer = upload(client, staff, csv_bytes(sheet([row(owner, 揭榜截止时间=past)])))
    assert errors_of(answer) == [(2, "揭榜截止时间", "value_error")]
