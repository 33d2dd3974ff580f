"""Progress reports by the performer, and disbursements of government funding by the bureau.

Reports may be filed while the project runs, acceptance included (`in_progress`,
`acceptance_requested`, `rectification`). Disbursements are recorded in the same states:
not before the agreement is signed (`publicity`, `signing`), not after the project ended.

The sum of the disbursements never exceeds the government share, also when the bureau
records two at the same moment: the database guarantees it, not a check in Python. Each
disbursement adds its amount with one `UPDATE project SET disbursed = disbursed + :amount`
inside a savepoint, and the CHECK constraint `disbursed <= government_funding` refuses the
one that would pass the share (PostgreSQL re-evaluates the UPDATE on the row as the earlier
writer left it; SQLite runs writers one at a time). That refusal is a 409 `over_funding`.
"""

from decimal import Decimal

from sqlalchemy import Select, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.errors import Conflict, InvalidInput
from app.models import (
    Disbursement,
    NotificationKind,
    Party,
    ProgressReport,
    Project,
    ProjectMilestone,
    ProjectStatus,
    User,
)
from app.schemas.funds import DisbursementCreate, ReportCreate
from app.services import audit
from app.services.milestones import require_status
from app.services.project_flow import require_party, tell
from app.services.projects import get_project

S = ProjectStatus
SIGNED_LIVE = frozenset({S.in_progress, S.acceptance_requested, S.rectification})
SHARE_CONSTRAINT = "within_government_share"


def file_report(
    session: Session, *, user: User, project_id: int, data: ReportCreate
) -> ProgressReport:
    """The performer files a progress report; the enterprise and the bureau are told."""
    project = get_project(session, user, project_id)
    require_party(user, project, Party.performer)
    require_status(project, SIGNED_LIVE, "提交进展报告")
    report = ProgressReport(project_id=project.id, created_by_id=user.id, **data.model_dump())
    session.add(report)
    session.flush()
    audit.record(
        session,
        actor=user,
        action="progress_report.create",
        object_type="progress_report",
        object_id=report.id,
        after={"project_id": project.id, "period": report.period, "spent": str(report.spent)},
    )
    tell(
        session,
        project,
        kind=NotificationKind.report_filed,
        message=f"项目“{project.title}”提交了{report.period}进展报告",
        parties={Party.enterprise, Party.bureau},
        actor=user,
    )
    return report


def reports_query(session: Session, viewer: User, project_id: int) -> Select[ProgressReport]:
    """The project's reports, newest first (its parties and the bureau)."""
    project = get_project(session, viewer, project_id)
    return (
        select(ProgressReport)
        .where(ProgressReport.project_id == project.id)
        .order_by(ProgressReport.created_at.desc(), ProgressReport.id.desc())
    )


def _check_milestone(session: Session, project: Project, milestone_id: int | None) -> None:
    if milestone_id is None:
        return
    milestone = session.get(ProjectMilestone, milestone_id)
    if milestone is None or milestone.project_id != project.id or not milestone.active:
        raise InvalidInput("不是本项目的有效里程碑", loc=["body", "milestone_id"])


def _add_to_disbursed(session: Session, project: Project, amount: Decimal) -> Decimal:
    """Add the amount in the database, guarded by its CHECK; the new sum. 409 past the share."""
    add = (
        update(Project)
        .where(Project.id == project.id, Project.status.in_(SIGNED_LIVE))
        .values(disbursed=Project.disbursed + amount)
        .returning(Project.disbursed)
        .execution_options(synchronize_session=False)
    )
    try:
        with session.begin_nested():
            disbursed = session.scalar(add)
    except IntegrityError as exc:
        if SHARE_CONSTRAINT not in str(exc.orig):
            raise
        session.refresh(project)  # the sum as the winners left it
        remaining = project.government_funding - project.disbursed
        raise Conflict(
            f"拨付金额 {amount:.2f} 万元超过财政资金余额：财政资金 "
            f"{project.government_funding:.2f} 万元，已拨付 {project.disbursed:.2f} 万元，"
            f"尚可拨付 {remaining:.2f} 万元",
            code="over_funding",
        ) from None
    if disbursed is None:  # the project ended (or was never signed) meanwhile
        session.refresh(project)
        require_status(project, SIGNED_LIVE, "拨付资金")
        raise Conflict("项目状态已变化，不能拨付资金", code="project_not_running")
    session.refresh(project)
    return disbursed


def disburse(
    session: Session, *, user: User, project_id: int, data: DisbursementCreate
) -> Disbursement:
    """The bureau records a tranche of government funding; the performer is told."""
    project = get_project(session, user, project_id)
    require_party(user, project, Party.bureau)
    require_status(project, SIGNED_LIVE, "拨付资金")
    _check_milestone(session, project, data.milestone_id)
    disbursed = _add_to_disbursed(session, project, data.amount)
    disbursement = Disbursement(
        project_id=project.id,
        milestone_id=data.milestone_id,
        amount=data.amount,
        note=data.note,
        created_by_id=user.id,
    )
    session.add(disbursement)
    session.flush()
    audit.record(
        session,
        actor=user,
        action="project.disburse",
        object_type="project",
        object_id=project.id,
        before={"disbursed": f"{disbursed - data.amount:.2f}"},
        after={"disbursed": f"{disbursed:.2f}", "disbursement_id": disbursement.id},
        reason=data.note or None,
    )
    tell(
        session,
        project,
        kind=NotificationKind.funds_disbursed,
        message=f"项目“{project.title}”拨付财政资金 {data.amount:.2f} 万元",
        parties={Party.performer},
        actor=user,
    )
    return disbursement


def disbursements_query(session: Session, viewer: User, project_id: int) -> Select[Disbursement]:
    """The project's disbursements, newest first (its parties and the bureau)."""
    project = get_project(session, viewer, project_id)
    return (
        select(Disbursement)
        .where(Disbursement.project_id == project.id)
        .order_by(Disbursement.created_at.desc(), Disbursement.id.desc())
    )
