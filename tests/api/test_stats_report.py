"""Period reports: figures from known data, China-time periods, the ranking, CSV and XLSX."""

import io
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from app.config import get_settings
from app.db import CHINA
from app.models import OrganizationKind, Role, User
from app.models.challenge import ChallengeStatus, Sector
from app.models.project import MilestoneStatus, ProjectStatus
from app.models.stats import Target
from app.services.report_tables import RANKING_HEADERS
from app.services.reports import build_report, completion, parse_period
from app.spreadsheets import BOM, MONEY_FORMAT, PERCENT_FORMAT
from tests.factories import headers, make_bid, make_challenge, make_user
from tests.project_factories import make_world

URL = "/api/v1/stats/report"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.fixture
def bureau(session: Session) -> User:
    return make_user(session, kind=OrganizationKind.bureau)


@pytest.fixture
def data(session: Session) -> dict[str, Any]:
    """March 2026 (China time) and around it; the figures each test expects are in its asserts.

    - c1 (211302, industry) published 10 March, two bids in March; c2 (211303, agriculture)
      published 31 March 23:30 China (15:30 UTC): March; c3 (211302) published 1 April 00:10
      China (31 March 16:10 UTC): April, not March.
    - p1 (211302): awarded 15 March, funding 50.00, completed (accepted) 20 March.
    - p2 (211303): awarded 1 February, running, a milestone due 5 March still planned.
    - p3 (211381): awarded in January, a milestone due 1 March accepted only on 10 April:
      overdue at the end of March, not at the end of the year.
    - a target for 211302 in 2026: industry, published 2, awarded 1, completed 1.
    """
    owner = make_user(session)
    university = make_user(session, kind=OrganizationKind.university)
    c1 = make_challenge(session, owner=owner, region="211302", sector=Sector.industry)
    c1.published_at = utc(2026, 3, 10, 2)
    c2 = make_challenge(session, owner=owner, region="211303", sector=Sector.agriculture)
    c2.published_at = utc(2026, 3, 31, 15, 30)
    c3 = make_challenge(session, owner=owner, region="211302")
    c3.published_at = utc(2026, 3, 31, 16, 10)
    make_challenge(session, owner=owner, status=ChallengeStatus.draft)  # never published
    for bid in (make_bid(session, challenge=c1, bidder=university),):
        bid.created_at = utc(2026, 3, 11)
    other = make_user(session, kind=OrganizationKind.university)
    make_bid(session, challenge=c1, bidder=other).created_at = utc(2026, 3, 12)

    p1 = make_world(session, status=ProjectStatus.completed)
    p1.project.created_at = utc(2026, 3, 15)
    p1.project.ended_at = utc(2026, 3, 20)
    p2 = make_world(session, milestone_dates=(date(2026, 3, 5), date(2027, 6, 1)))
    p2.challenge.region = p2.project.region = "211303"  # as copied at the award
    p2.project.created_at = utc(2026, 2, 1)
    p3 = make_world(session, milestone_dates=(date(2026, 3, 1),))
    p3.challenge.region = p3.project.region = "211381"  # as copied at the award
    p3.project.created_at = utc(2026, 1, 10)
    p3.milestones[0].status = MilestoneStatus.accepted
    p3.milestones[0].decided_at = utc(2026, 4, 10)
    session.add(
        Target(
            year=2026, sector=Sector.industry, region="211302", published=2, awarded=1, completed=1
        )
    )
    session.add(Target(year=2026, sector=Sector.industry, region="", published=6, awarded=6))
    session.flush()
    return {"p1": p1, "p2": p2, "p3": p3}


def get(client: TestClient, user: User | None, **params: str) -> Any:
    return client.get(URL, params=params, headers=headers(user) if user else {})


def test_month_report_counts_the_periods_items_in_china_time(
    client: TestClient, bureau: User, data: dict[str, Any]
) -> None:
    body = get(client, bureau, period="2026-03").json()
    assert body["starts_on"] == "2026-03-01"
    assert body["ends_before"] == "2026-04-01"
    assert body["overdue_as_of"] == "2026-03-31T16:00:00Z"
    assert body["totals"] == {
        "challenges_published": 2,
        "challenge_budget": "200.00",
        "bids_submitted": 2,
        "projects_awarded": 1,
        "government_funding": "50.00",
        "projects_accepted": 1,
        "milestones_overdue": 2,
    }
    assert [m["month"] for m in body["months"]] == ["2026-01", "2026-02", "2026-03"]
    assert [m["projects_awarded"] for m in body["months"]] == [1, 1, 1]
    overdue = {(o["region"], o["due_date"]) for o in body["overdue"]}
    assert overdue == {("211303", "2026-03-05"), ("211381", "2026-03-01")}
    assert [a["region_name"] for a in body["accepted"]] == ["双塔区"]
    industry = next(s for s in body["sectors"] if s["sector"] == "industry")
    assert (industry["published"], industry["published_target"]) == (1, 6)


def test_ranking_scores_completion_accepted_and_overdue_with_the_stated_ties(
    client: TestClient, bureau: User, data: dict[str, Any]
) -> None:
    ranking = get(client, bureau, period="2026-03").json()["ranking"]
    assert len(ranking) == 8  # every county in REGIONS, with or without items
    first = ranking[0]
    # Year to date: published 1 of 2, awarded 1 of 1, completed 1 of 1 → (0.5 + 1 + 1) / 3.
    assert (first["region"], first["name"], first["completion"]) == ("211302", "双塔区", 0.8333)
    assert first["score"] == 60.0  # 60 × 0.8333 + 10 × 1 accepted − 5 × 0 overdue
    assert first["government_funding"] == "50.00"
    # Two counties at −5 (no targets, one overdue each): the lower region code first.
    assert [(r["region"], r["score"]) for r in ranking[-2:]] == [("211303", -5.0), ("211381", -5.0)]
    assert [r["region"] for r in ranking[1:6]] == sorted(r["region"] for r in ranking[1:6])
    assert [r["rank"] for r in ranking] == list(range(1, 9))
    assert ranking[1]["completion"] is None  # no targets: shown as none, counted as 0


def test_overdue_is_judged_at_the_period_end_or_now(
    client: TestClient, bureau: User, data: dict[str, Any]
) -> None:
    february = get(client, bureau, period="2026-02").json()
    assert february["totals"]["milestones_overdue"] == 0  # nothing was due before 1 March
    year = get(client, bureau, period="2026").json()
    # Now: p3's milestone was accepted on 10 April; p2's is still open.
    assert [o["region"] for o in year["overdue"]] == ["211303"]
    assert year["totals"]["challenges_published"] == 3
    assert len(year["months"]) == 12


def test_quarter_report_covers_its_three_months(
    client: TestClient, bureau: User, data: dict[str, Any]
) -> None:
    body = get(client, bureau, period="2026-Q1").json()
    assert body["totals"]["projects_awarded"] == 3
    assert [m["month"] for m in body["months"]] == ["2026-01", "2026-02", "2026-03"]
    assert get(client, bureau, period="2026-Q2").json()["totals"]["challenges_published"] == 1


@pytest.mark.parametrize("period", ["2026-13", "2026-Q5", "26-1", "2026-00", "2026-3", "", "x"])
def test_a_period_that_does_not_exist_is_a_422(
    client: TestClient, bureau: User, period: str
) -> None:
    response = get(client, bureau, period=period)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "period"]


def test_an_unknown_format_is_a_422(client: TestClient, bureau: User) -> None:
    assert get(client, bureau, period="2026", format="pdf").status_code == 422


@pytest.mark.parametrize("path", [URL, URL + ".html"])
def test_only_the_bureau_reads_reports(client: TestClient, session: Session, path: str) -> None:
    assert client.get(path, params={"period": "2026"}).status_code == 401
    for kind, role in (
        (OrganizationKind.enterprise, None),
        (OrganizationKind.university, None),
        (OrganizationKind.bureau, Role.expert),
    ):
        user = make_user(session, kind=kind, role=role)
        response = client.get(path, params={"period": "2026"}, headers=headers(user))
        assert response.status_code == 403, kind


def test_csv_is_the_ranking_with_a_bom_and_chinese_headers(
    client: TestClient, bureau: User, data: dict[str, Any]
) -> None:
    response = get(client, bureau, period="2026-03", format="csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="report-2026-03.csv"')
    assert "filename*=UTF-8''%E6%8F%AD%E6%A6%9C" in disposition  # 揭榜...
    assert response.content.startswith(BOM.encode())
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0].split(",") == RANKING_HEADERS
    assert lines[1].split(",") == [
        "1", "双塔区", "211302", "1", "1", "1", "0", "50.00", "0.8333", "60.0", "1"
    ]  # fmt: skip
    assert len(lines) == 9


def test_xlsx_has_a_sheet_per_table_with_numbers_as_numbers(
    client: TestClient, bureau: User, data: dict[str, Any]
) -> None:
    response = get(client, bureau, period="2026-03", format="xlsx")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == [
        "县区排名",
        "月度趋势",
        "新发布榜单",
        "授榜项目",
        "逾期事项",
        "验收项目",
    ]
    ranking = book["县区排名"]
    assert [c.value for c in ranking[1]] == RANKING_HEADERS
    row = ranking[2]
    assert row[1].value == "双塔区"
    assert isinstance(row[3].value, int)
    assert row[7].value == 50
    assert row[7].number_format == MONEY_FORMAT
    assert row[8].value == pytest.approx(0.8333)
    assert row[8].number_format == PERCENT_FORMAT
    assert book["月度趋势"].max_row == 4  # header and January to March
    overdue = book["逾期事项"]
    assert [c.value for c in overdue[1]][:3] == ["项目编号", "项目名称", "节点"]
    assert overdue.max_row == 3
    assert isinstance(overdue["F2"].value, int)  # 逾期天数
    awards = book["授榜项目"]
    assert awards["H2"].value == 50
    assert awards["H2"].number_format == MONEY_FORMAT
    new = book["新发布榜单"]
    assert {new.cell(r, 1).value for r in range(2, new.max_row + 1)} == {"双塔区", "龙城区"}


def test_completion_caps_each_target_and_ignores_unset_ones() -> None:
    assert completion([3, 0, 0], [2, 0, 4]) == pytest.approx(0.5)  # (1 + 0) / 2
    assert completion([5, 5, 5], [0, 0, 0]) is None


def test_a_report_without_items_has_the_same_figures_and_empty_lists(
    session: Session, data: dict[str, Any]
) -> None:
    """What the CSV is made from: every figure, but none of the period's long lists."""
    period, regions = parse_period("2026-03"), get_settings().regions
    full = build_report(session, period=period, regions=regions)
    bare = build_report(session, period=period, regions=regions, items=False)
    assert full.awards
    assert full.accepted
    assert full.overdue
    assert (bare.awards, bare.accepted, bare.overdue) == ([], [], [])
    assert bare.model_dump(exclude={"awards", "accepted", "overdue"}) == (
        full.model_dump(exclude={"awards", "accepted", "overdue"})
    )


def test_xlsx_lists_are_the_json_lists_row_for_row(
    client: TestClient, bureau: User, data: dict[str, Any]
) -> None:
    """The XLSX writes its lists from the database rows, the JSON from items: the same."""
    body = get(client, bureau, period="2026-03").json()
    book = load_workbook(io.BytesIO(get(client, bureau, period="2026-03", format="xlsx").content))

    def sheet(title: str) -> list[list[Any]]:
        return [[c.value for c in row] for row in book[title].iter_rows(min_row=2)]

    def local(instant: str) -> str:
        return datetime.fromisoformat(instant).astimezone(CHINA).strftime("%Y-%m-%d %H:%M")

    labels = {"agriculture": "农业", "industry": "工业", "services": "服务业"}
    assert sheet("授榜项目") == [
        [
            a["project_id"], a["title"], a["region_name"], labels[a["sector"]],
            local(a["awarded_at"]), a["performer"], float(a["budget"]),
            float(a["government_funding"]),
        ]
        for a in body["awards"]
    ]  # fmt: skip
    assert sheet("验收项目") == [
        [
            a["project_id"], a["title"], a["region_name"], labels[a["sector"]],
            local(a["accepted_at"]), a["performer"], float(a["budget"]), float(a["disbursed"]),
        ]
        for a in body["accepted"]
    ]  # fmt: skip
    assert sheet("逾期事项") == [
        [
            o["project_id"], o["project_title"], o["milestone_title"], o["region_name"],
            datetime.fromisoformat(o["due_date"]), o["days_overdue"],
        ]
        for o in body["overdue"]
    ]  # fmt: skip
    assert body["awards"]
    assert body["accepted"]
    assert body["overdue"]
