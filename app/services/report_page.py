"""The period report as a printable page: Chinese, A4, charts drawn as inline SVG.

No script, no external resource (fonts are the system's), one <style> element allowed by its
hash in the page's own Content-Security-Policy, and every text escaped. The SVG uses only
presentation attributes (fill, width...), which a CSP does not govern, never style="".
"""

import base64
import hashlib
from collections.abc import Sequence
from html import escape

from app import db
from app.schemas.report import Report
from app.services.reports import SECTOR_LABELS

CSS = """
@page { size: A4; margin: 15mm 12mm; }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei",
  "PingFang SC", sans-serif; color: #222; margin: 0 auto; max-width: 186mm; font-size: 10.5pt; }
h1 { font-size: 18pt; text-align: center; margin: 4mm 0 1mm; }
h2 { font-size: 13pt; border-bottom: 2px solid #1f5fa8; padding-bottom: 1mm; margin-top: 6mm; }
p.meta { text-align: center; color: #555; margin: 0 0 3mm; }
table { border-collapse: collapse; width: 100%; margin: 2mm 0; }
th, td { border: 1px solid #999; padding: 1mm 1.5mm; text-align: center; }
th { background: #e8eef7; }
td.name { text-align: left; }
.totals td { font-size: 12pt; }
svg { display: block; margin: 2mm auto; max-width: 100%; }
section { break-inside: avoid; }
p.note { color: #555; font-size: 9pt; }
"""
BLUE, ORANGE, GREEN, GREY = "#1f5fa8", "#e07b24", "#3a9b4a", "#d5d9e0"
LIST_LIMIT = 30  # rows of each list printed; the XLSX has them all
METRICS = (("published", "发布榜单"), ("awarded", "授榜项目"), ("completed", "验收项目"))


def page_csp(html: str) -> str:
    """The page's policy: nothing loads; its one inline <style> is allowed by hash."""
    digest = base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
    return (
        f"default-src 'none'; style-src 'sha256-{digest}'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    )


def _svg(width: int, height: int, body: list[str], label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}">'
        + "".join(body)
        + "</svg>"
    )


def _text(x: float, y: float, text: str, *, anchor: str = "start", size: int = 12) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
        f'fill="#222">{escape(text)}</text>'
    )


def _rect(x: float, y: float, w: float, h: float, fill: str, css_class: str) -> str:
    return (
        f'<rect class="{css_class}" x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" '
        f'height="{max(h, 0):.1f}" fill="{fill}"/>'
    )


def sector_chart(report: Report) -> str:
    """Horizontal bars per sector and measure: the target (grey) and the actual (blue)."""
    rows = [
        (f"{SECTOR_LABELS[s.sector]}·{name}", getattr(s, key), getattr(s, f"{key}_target"))
        for s in report.sectors
        for key, name in METRICS
    ]
    scale = max([1] + [max(a, t) for _, a, t in rows])
    left, bar_w, row_h = 130, 420, 24
    body = []
    for i, (label, actual, target) in enumerate(rows):
        y = 10 + i * row_h
        body.append(_text(left - 8, y + 14, label, anchor="end"))
        body.append(_rect(left, y + 2, bar_w * target / scale, 16, GREY, "target"))
        body.append(_rect(left, y + 6, bar_w * actual / scale, 8, BLUE, "actual"))
        body.append(_text(left + bar_w + 8, y + 14, f"{actual} / {target}"))
    height = 20 + len(rows) * row_h
    return _svg(640, height, body, "按领域的目标进度")


def trend_chart(report: Report) -> str:
    """Grouped columns per month: challenges published, projects awarded, projects accepted."""
    series = (
        ("发布榜单", BLUE, [m.challenges_published for m in report.months]),
        ("授榜项目", ORANGE, [m.projects_awarded for m in report.months]),
        ("验收项目", GREEN, [m.projects_accepted for m in report.months]),
    )
    scale = max([1] + [v for _, _, values in series for v in values])
    left, top, plot_h, width = 40, 30, 180, 640
    slot = (width - left - 10) / max(1, len(report.months))
    bar = min(14.0, slot / 4)
    body = [f'<path d="M{left} {top + plot_h}H{width - 10}" stroke="#888" fill="none"/>']
    for s, (name, color, _) in enumerate(series):
        body.append(_rect(left + s * 110, 6, 12, 12, color, "legend"))
        body.append(_text(left + s * 110 + 16, 17, name))
    for i, month in enumerate(report.months):
        x0 = left + i * slot + (slot - 3 * bar) / 2
        for s, (_, color, values) in enumerate(series):
            h = plot_h * values[i] / scale
            body.append(_rect(x0 + s * bar, top + plot_h - h, bar - 1, h, color, "bar"))
        body.append(
            _text(
                left + i * slot + slot / 2,
                top + plot_h + 16,
                month.month[5:] + "月",
                anchor="middle",
                size=11,
            )
        )
    body.append(_text(left - 6, top + 4, str(scale), anchor="end", size=10))
    return _svg(width, top + plot_h + 26, body, "月度趋势")


def ranking_chart(report: Report) -> str:
    """Horizontal bars of the counties' scores, in rank order (a negative score draws none)."""
    scale = max([1.0] + [row.score for row in report.ranking])
    left, bar_w, row_h = 190, 380, 24
    body = []
    for i, row in enumerate(report.ranking):
        y = 6 + i * row_h
        body.append(_text(left - 8, y + 14, f"{row.rank}. {row.name}", anchor="end"))
        body.append(_rect(left, y + 3, bar_w * max(row.score, 0) / scale, 14, BLUE, "score"))
        body.append(_text(left + bar_w * max(row.score, 0) / scale + 6, y + 14, f"{row.score:g}"))
    return _svg(640, 12 + len(report.ranking) * row_h, body, "县区排名")


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, css: str = "") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(_cell(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    attr = f' class="{css}"' if css else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: object) -> str:
    return "—" if value is None else str(value)


def _percent(value: float | None) -> str | None:
    return None if value is None else f"{value:.1%}"


def _limited(title: str, total: int) -> str:
    if total > LIST_LIMIT:
        shown = f"此处列出前 {LIST_LIMIT} 项；完整清单见 XLSX"
        return f'<p class="note">{escape(title)}共 {total} 项，{shown}。</p>'
    if total == 0:
        return f'<p class="note">本期无{escape(title)}。</p>'
    return ""


def render_report_page(report: Report) -> str:
    """The whole page, escaped, with its charts."""
    t = report.totals
    as_of = report.overdue_as_of.astimezone(db.CHINA).strftime("%Y-%m-%d %H:%M")
    title = f"揭榜挂帅工作统计报表（{report.period}）"
    ranking_rows = [
        [
            r.rank,
            r.name,
            r.challenges_published,
            r.projects_awarded,
            r.projects_accepted,
            r.milestones_overdue,
            f"{r.government_funding:.2f}",
            _percent(r.completion),
            f"{r.score:g}",
        ]
        for r in report.ranking
    ]
    awards = [
        [a.project_id, a.title, a.region_name, a.performer, f"{a.government_funding:.2f}"]
        for a in report.awards[:LIST_LIMIT]
    ]
    overdue = [
        [o.project_title, o.milestone_title, o.region_name, o.due_date, o.days_overdue]
        for o in report.overdue[:LIST_LIMIT]
    ]
    accepted = [
        [a.project_id, a.title, a.region_name, a.performer, f"{a.budget:.2f}"]
        for a in report.accepted[:LIST_LIMIT]
    ]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">统计期间 {report.starts_on} 至 {report.ends_before}（不含），北京时间；'
        f"逾期截至 {escape(as_of)}</p>",
        "<section><h2>一、本期概况</h2>",
        _table(
            ["发布榜单", "揭榜申报", "授榜项目", "财政资助（万元）", "验收项目", "逾期事项"],
            [
                [
                    t.challenges_published,
                    t.bids_submitted,
                    t.projects_awarded,
                    f"{t.government_funding:.2f}",
                    t.projects_accepted,
                    t.milestones_overdue,
                ]
            ],
            css="totals",
        ),
        "</section>",
        f"<section><h2>二、年度目标进度（{report.starts_on.year} 年累计）</h2>",
        sector_chart(report),
        '<p class="note">灰色为年度目标，蓝色为年初至本期末的实际完成数。</p></section>',
        "<section><h2>三、月度趋势</h2>",
        trend_chart(report),
        "</section>",
        "<section><h2>四、县区排名</h2>",
        ranking_chart(report),
        _table(
            [
                "排名",
                "区域",
                "发布榜单",
                "授榜项目",
                "验收项目",
                "逾期事项",
                "资助金额（万元）",
                "目标完成率",
                "得分",
            ],
            ranking_rows,
        ),
        '<p class="note">得分 = 60 × 目标完成率（年初至本期末，封顶 100%）+ 10 × 本期验收项目'
        " − 5 × 逾期事项；未设目标的县区完成率记 0。"
        "同分依次比较完成率、验收项目、逾期事项（少者优先）、区划代码。</p></section>",
        "<section><h2>五、授榜项目</h2>",
        _table(["项目编号", "项目名称", "区域", "揭榜单位", "财政资助（万元）"], awards),
        _limited("授榜项目", len(report.awards)),
        "</section><section><h2>六、逾期事项</h2>",
        _table(["项目名称", "节点", "区域", "计划完成日期", "逾期天数"], overdue),
        _limited("逾期事项", len(report.overdue)),
        "</section><section><h2>七、验收项目</h2>",
        _table(["项目编号", "项目名称", "区域", "揭榜单位", "总经费（万元）"], accepted),
        _limited("验收项目", len(report.accepted)),
        "</section></body></html>",
    ]
    return "".join(parts)
