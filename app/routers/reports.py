"""Period reports for the bureau: JSON, CSV, XLSX and a printable page with SVG charts."""

from enum import StrEnum
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from app.config import get_settings
from app.deps import BureauStaff, SessionDep
from app.errors import error_responses
from app.schemas.report import Report
from app.services.report_page import page_csp, render_report_page
from app.services.report_tables import ranking_table, report_tables
from app.services.reports import PERIOD_PATTERN, build_report, parse_period, report_lists
from app.spreadsheets import CSV_TYPE, XLSX_TYPE, csv_bytes, xlsx_bytes

router = APIRouter(prefix="/stats", tags=["statistics"])

PeriodQuery = Annotated[
    str,
    Query(
        pattern=PERIOD_PATTERN,
        description="月 `2026-03`、季 `2026-Q1` 或年 `2026`（北京时间）",
        examples=["2026-Q1"],
    ),
]


class ReportFormat(StrEnum):
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


def _attachment(period: str, extension: str) -> str:
    # An ASCII name for old clients, and the Chinese one as RFC 5987 `filename*`.
    name = quote(f"揭榜挂帅统计报表-{period}.{extension}")
    return f"attachment; filename=\"report-{period}.{extension}\"; filename*=UTF-8''{name}"


@router.get(
    "/report",
    summary="统计报表（月调度、季通报、年排名）",
    response_model=Report,
    responses={
        200: {
            "content": {
                CSV_TYPE: {"schema": {"type": "string"}},
                XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}},
            },
            "description": "JSON，或 CSV（县区排名）、XLSX（每表一页）",
        },
        **error_responses(401, 403, 422),
    },
)
def get_stats_report(
    session: SessionDep,
    staff: BureauStaff,
    period: PeriodQuery,
    format: ReportFormat = ReportFormat.json,
) -> Report | Response:
    """The period's new, awarded, overdue and accepted items and the county ranking."""
    parsed = parse_period(period)
    # The CSV is the ranking alone; the XLSX writes its lists from the rows (report_lists).
    items = format is ReportFormat.json
    report = build_report(session, period=parsed, regions=get_settings().regions, items=items)
    if format is ReportFormat.json:
        return report
    if format is ReportFormat.csv:
        body, media_type = csv_bytes(ranking_table(report)), CSV_TYPE
    else:
        lists = report_lists(session, period=parsed, cutoff=report.overdue_as_of)
        body, media_type = xlsx_bytes(report_tables(report, lists)), XLSX_TYPE
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": _attachment(period, format.value)},
    )


@router.get(
    "/report.html",
    summary="统计报表打印页（内嵌 SVG 图表）",
    response_class=HTMLResponse,
    responses={
        200: {"content": {"text/html": {"schema": {"type": "string"}}}},
        **error_responses(401, 403, 422),
    },
)
def get_stats_report_page(
    session: SessionDep, staff: BureauStaff, period: PeriodQuery
) -> HTMLResponse:
    """A printable A4 page of the period's report, charts drawn as inline SVG, no script."""
    report = build_report(session, period=parse_period(period), regions=get_settings().regions)
    html = render_report_page(report)
    return HTMLResponse(html, headers={"Content-Security-Policy": page_csp(html)})
