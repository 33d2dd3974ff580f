"""Acceptance (验收) and termination: the end of a project.

The performer requests acceptance from `in_progress`; the bureau records every indicator's
measured value and pass/fail and gives a verdict: `pass` (every indicator passed or waived
with a written reason) → `completed`; `rectify` (once only) → `rectification` until
`rectify_by`, three months after the verdict (China dates), when the performer requests
acceptance a second and last time; `fail` → `failed`, `tolerated` (容错, no penalty) or
`misconduct` (the performer's organisation may not bid for MISCONDUCT_BAN_YEARS years).

A rectification past its `rectify_by` cannot be requested any more (409
`rectification_overdue`); the bureau ends it with a `fail` verdict or a termination. The
bureau may terminate any project that has not ended, with a reason.
"""

import calendar
from copy import deepcopy
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from app import db
from app.config import get_settings
from app.errors import InvalidInput, InvalidTransition
from app.models import (
    FailureKind,
    NotificationKind,
    Organization,
    Party,
    Project,
    ProjectStatus,
    User,
)
from app.models.project import local_today
from app.schemas.acceptance import AcceptanceVerdict, MeasuredIndicator, Verdict, Waiver
from app.services import audit
from app.services.project_flow import move, require_party, tell
from app.services.projects import lock_project

S = ProjectStatus
RECTIFY_MONTHS = 3


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the last day of that month (30 Nov + 3 → 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


def add_years(moment: datetime, years: int) -> datetime:
    """The same China-time instant `years` later; 29 February becomes 28 February."""
    local = moment.astimezone(db.CHINA)
    try:
        later = local.replace(year=local.year + years)
    except ValueError:  # 29 February in a year that has none
        later = local.replace(year=local.year + years, day=28)
    return later.astimezone(moment.tzinfo)


def china_date(moment: datetime) -> str:
    """A date as people read it in a Chinese detail: 2029年12月1日."""
    day = moment.astimezone(db.CHINA).date()
    return f"{day.year}年{day.month}月{day.day}日"


def request_acceptance(session: Session, *, user: User, project_id: int) -> Project:
    """The performer asks for acceptance: the first time, or once more after a rectification."""
    project = lock_project(session, user, project_id)
    require_party(user, project, Party.performer)
    if project.status is S.rectification and _lapsed(project):
        raise InvalidTransition(
            f"整改期限（{project.rectify_by}）已过，不能再申请验收；"
            "由科技局作出验收不通过结论或终止项目",
            code="rectification_overdue",
        )
    move(session, project, "request_acceptance", actor=user)
    project.acceptance_requests += 1
    project.acceptance_requested_at = db.utcnow()
    session.flush()
    return project


def decide_acceptance(
    session: Session, *, staff: User, project_id: int, data: AcceptanceVerdict
) -> Project:
    """The bureau records each indicator and its verdict: pass, rectify (once) or fail."""
    project = lock_project(session, staff, project_id)
    require_party(staff, project, Party.bureau)
    _require_failure_kind_with_fail(data)
    _require_decidable(project, data.verdict)
    indicators = _measured(project.indicators, data.indicators, data.waivers)
    if data.verdict is Verdict.pass_:
        _require_all_met(indicators)
    before = _record_of(project)
    reason = data.comment or None
    project.indicators = indicators
    project.acceptance_comment = reason
    if data.verdict is Verdict.pass_:
        move(session, project, "complete", actor=staff, reason=reason)
    elif data.verdict is Verdict.rectify:
        project.rectify_by = add_months(local_today(), RECTIFY_MONTHS)
        move(session, project, "rectify", actor=staff, reason=reason)
    else:
        project.failure_kind = data.failure_kind
        move(session, project, "fail", actor=staff, reason=reason)
    audit.record(
        session,
        actor=staff,
        action="project.acceptance",
        object_type="project",
        object_id=project.id,
        before=before,
        after={**_record_of(project), "verdict": data.verdict.value},
        reason=reason,
    )
    if project.failure_kind is FailureKind.misconduct:
        ban_performer(session, project=project, staff=staff)
    session.flush()
    return project


def terminate(session: Session, *, staff: User, project_id: int, reason: str) -> Project:
    """The bureau ends a project that has not ended, with a reason."""
    project = lock_project(session, staff, project_id)
    require_party(staff, project, Party.bureau)
    return move(session, project, "terminate", actor=staff, reason=reason)


def ban_performer(session: Session, *, project: Project, staff: User) -> None:
    """Misconduct: the performer's organisation may not bid for MISCONDUCT_BAN_YEARS years."""
    years = get_settings().misconduct_ban_years
    if years <= 0:
        return
    organization = session.get(
        Organization,
        project.performer_organization_id,
        with_for_update=True,
        populate_existing=True,
    )
    assert organization is not None  # a foreign key
    until = add_years(db.utcnow(), years)
    before = organization.banned_until
    if before is not None and before >= until:
        return  # an earlier ban already lasts longer
    organization.banned_until = until
    session.flush()
    audit.record(
        session,
        actor=staff,
        action="organization.ban",
        object_type="organization",
        object_id=organization.id,
        before={"banned_until": before.isoformat() if before else None},
        after={"banned_until": until.isoformat()},
        reason=f"项目“{project.title}”（{project.id}）验收不通过：失信违规",
    )
    tell(
        session,
        project,
        kind=NotificationKind.acceptance_decided,
        message=f"项目“{project.title}”验收不通过（失信违规）：本单位至{china_date(until)}不得揭榜",
        parties={Party.performer},
        actor=staff,
    )


def _lapsed(project: Project) -> bool:
    """The rectification's last day (China time) is over."""
    return project.rectify_by is not None and local_today() > project.rectify_by


def _require_failure_kind_with_fail(data: AcceptanceVerdict) -> None:
    if data.verdict is Verdict.fail and data.failure_kind is None:
        raise InvalidInput(
            "验收不通过须注明失败类型：tolerated（容错）或 misconduct（失信违规）",
            loc=["body", "failure_kind"],
        )
    if data.verdict is not Verdict.fail and data.failure_kind is not None:
        raise InvalidInput("只有验收不通过（fail）才有失败类型", loc=["body", "failure_kind"])


def _require_decidable(project: Project, verdict: Verdict) -> None:
    """A verdict needs a pending request; a lapsed rectification may only fail."""
    status = project.current_status
    if status is S.rectification and verdict is Verdict.fail:
        if _lapsed(project):
            return  # the second request never came: the bureau closes it as failed
        raise InvalidTransition(
            f"整改期限（{project.rectify_by}）未到，揭榜单位仍可再次申请验收",
            code="rectification_pending",
        )
    if status is not S.acceptance_requested:
        raise InvalidTransition(
            f"项目当前状态为“{status.label}”，不能作出验收结论",
            code="invalid_project_transition",
        )
    if verdict is Verdict.rectify and project.rectify_by is not None:
        raise InvalidTransition(
            "该项目已整改过一次，本次验收只能通过或不通过", code="rectification_used"
        )


def _measured(
    indicators: list[dict[str, Any]],
    measured: list[MeasuredIndicator],
    waivers: list[Waiver],
) -> list[dict[str, Any]]:
    """The project's indicators with this record's values: every one, each once, no other."""
    names = [indicator["name"] for indicator in indicators]
    for field, given in (
        ("indicators", [m.name for m in measured]),
        ("waivers", [w.name for w in waivers]),
    ):
        unknown = sorted(set(given) - set(names))
        if unknown:
            raise InvalidInput(
                f"任务书中没有这些指标：{'、'.join(unknown)}",
                loc=["body", field],
                code="unknown_indicators",
            )
        duplicates = sorted({name for name in given if given.count(name) > 1})
        if duplicates:
            raise InvalidInput(
                f"指标重复：{'、'.join(duplicates)}",
                loc=["body", field],
                code="duplicate_indicator",
            )
    by_name = {m.name: m for m in measured}
    missing = [name for name in names if name not in by_name]
    if missing:
        raise InvalidInput(
            f"缺少这些指标的实测结果：{'、'.join(missing)}",
            loc=["body", "indicators"],
            code="missing_indicators",
        )
    reasons = {w.name: w.reason for w in waivers}
    return [
        {
            **indicator,
            "measured": by_name[indicator["name"]].measured,
            "passed": by_name[indicator["name"]].passed,
            "waiver": reasons.get(indicator["name"]),
        }
        for indicator in indicators
    ]


def _require_all_met(indicators: list[dict[str, Any]]) -> None:
    failing = [i["name"] for i in indicators if not i["passed"] and not i.get("waiver")]
    if failing:
        raise InvalidInput(
            f"这些指标未达标且未经书面说明豁免，不能验收通过：{'、'.join(failing)}",
            loc=["body", "verdict"],
            code="indicators_not_met",
        )


def _record_of(project: Project) -> dict[str, Any]:
    """What the acceptance record changes, for the audit's before and after."""
    return {
        "indicators": deepcopy(project.indicators),
        "acceptance_comment": project.acceptance_comment,
        "rectify_by": project.rectify_by.isoformat() if project.rectify_by else None,
        "failure_kind": project.failure_kind.value if project.failure_kind else None,
    }
