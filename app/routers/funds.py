from fastapi import APIRouter, status

from app.deps import CurrentUser, ObjectId, Paging, SessionDep
from app.errors import error_responses
from app.schemas.funds import (
    DisbursementCreate,
    DisbursementPage,
    DisbursementRead,
    ReportCreate,
    ReportPage,
    ReportRead,
)
from app.services import funds

router = APIRouter(tags=["projects"])

ACTION_ERRORS = error_responses(401, 403, 404, 409, 422)
READ_ERRORS = error_responses(401, 404, 422)


@router.post(
    "/projects/{project_id}/reports",
    status_code=status.HTTP_201_CREATED,
    summary="提交进展报告",
    responses=ACTION_ERRORS,
)
def create_report(
    session: SessionDep, user: CurrentUser, project_id: ObjectId, body: ReportCreate
) -> ReportRead:
    """The university or institute files a progress report."""
    report = funds.file_report(session, user=user, project_id=project_id, data=body)
    return ReportRead.model_validate(report)


@router.get("/projects/{project_id}/reports", summary="进展报告列表", responses=READ_ERRORS)
def list_reports(
    session: SessionDep, user: CurrentUser, project_id: ObjectId, paging: Paging
) -> ReportPage:
    """The project's progress reports, newest first, for its parties and the bureau."""
    return paging.page(session, funds.reports_query(session, user, project_id), ReportPage)


@router.post(
    "/projects/{project_id}/disbursements",
    status_code=status.HTTP_201_CREATED,
    summary="拨付财政资金",
    responses=ACTION_ERRORS,
)
def create_disbursement(
    session: SessionDep, user: CurrentUser, project_id: ObjectId, body: DisbursementCreate
) -> DisbursementRead:
    """The bureau records a tranche; their sum never exceeds the government share (409)."""
    disbursement = funds.disburse(session, user=user, project_id=project_id, data=body)
    return DisbursementRead.model_validate(disbursement)


@router.get("/projects/{project_id}/disbursements", summary="资金拨付记录", responses=READ_ERRORS)
def list_disbursements(
    session: SessionDep, user: CurrentUser, project_id: ObjectId, paging: Paging
) -> DisbursementPage:
    """The project's disbursements, newest first, for its parties and the bureau."""
    stmt = funds.disbursements_query(session, user, project_id)
    return paging.page(session, stmt, DisbursementPage)
