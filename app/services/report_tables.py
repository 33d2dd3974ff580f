"""The period report as spreadsheet tables: the ranking alone for CSV, a sheet each for XLSX.

The XLSX's lists come straight from the database rows (`report_lists`): a year has tens of
thousands, and making a validated item of each first cost more than writing them.
"""

from datetime import datetime

from app import db
from app.regions import region_name
from app.schemas.report import Report
from app.services.reports import SECTOR_LABELS, ReportLists
from app.spreadsheets import Cell, Table

RANKING_HEADERS = [
    "序号",
    "区域",
    "区划代码",
    "发布榜单",
    "授榜项目",
    "验收项目",
    "逾期事项",
    "资助金额（万元）",
    "目标完成率",
    "得分",
    "排名",
]


def _local(moment: datetime) -> str:
    return moment.astimezone(db.CHINA).strftime("%Y-%m-%d %H:%M")


def ranking_table(report: Report) -> Table:
    """序号 | 区域 | ... | 排名: one row per county, in rank order."""
    rows: list[list[Cell]] = [
        [
            index,
            row.name,
            row.region,
            row.challenges_published,
            row.projects_awarded,
            row.projects_accepted,
            row.milestones_overdue,
            row.government_funding,
            row.completion,
            row.score,
            row.rank,
        ]
        for index, row in enumerate(report.ranking, start=1)
    ]
    return Table("县区排名", RANKING_HEADERS, rows, money=frozenset({7}), percent=frozenset({8}))


def report_tables(report: Report, lists: ReportLists) -> list[Table]:
    """The workbook's sheets: ranking, months, new challenges, awards, overdue, accepted."""
    months = Table(
        "月度趋势",
        ["月份", "发布榜单", "揭榜申报", "授榜项目", "验收项目", "资助金额（万元）"],
        [
            [
                m.month,
                m.challenges_published,
                m.bids_submitted,
                m.projects_awarded,
                m.projects_accepted,
                m.government_funding,
            ]
            for m in report.months
        ],
        money=frozenset({5}),
    )
    new = Table(
        "新发布榜单",
        ["区域", "区划代码", "领域", "发布榜单", "榜单金额（万元）", "揭榜申报"],
        [
            [r.name, r.region, SECTOR_LABELS[r.sector], r.challenges, r.budget, r.bids]
            for r in report.new_challenges
        ],
        money=frozenset({4}),
    )
    awards = Table(
        "授榜项目",
        [
            "项目编号",
            "项目名称",
            "区域",
            "领域",
            "授榜时间",
            "揭榜单位",
            "总经费（万元）",
            "财政资助（万元）",
        ],
        [
            [
                pid,
                title,
                region_name(region),
                SECTOR_LABELS[sector],
                _local(at),
                name,
                budget,
                funds,
            ]
            for pid, title, region, sector, at, name, budget, funds in lists.awards
        ],
        money=frozenset({6, 7}),
    )
    overdue = Table(
        "逾期事项",
        ["项目编号", "项目名称", "节点", "区域", "计划完成日期", "逾期天数"],
        [
            [pid, title, milestone, region_name(region), due, (lists.today - due).days]
            for pid, title, _milestone_id, milestone, region, due in lists.overdue
        ],
    )
    accepted = Table(
        "验收项目",
        [
            "项目编号",
            "项目名称",
            "区域",
            "领域",
            "验收时间",
            "揭榜单位",
            "总经费（万元）",
            "已拨付（万元）",
        ],
        [
            [pid, title, region_name(region), SECTOR_LABELS[sector], _local(at), name, budget, paid]
            for pid, title, region, sector, at, name, budget, paid in lists.accepted
        ],
        money=frozenset({6, 7}),
    )
    return [ranking_table(report), months, new, awards, overdue, accepted]
