from typing import Annotated

from fastapi import APIRouter, Query

from app.deps import BureauStaff, IdFilter, Paging, SessionDep
from app.errors import error_responses
from app.schemas.audit import AuditEventPage
from app.services.audit import events_query

router = APIRouter(prefix="/audit-events", tags=["audit"])


@router.get("", summary="审计日志", responses=error_responses(401, 403, 422))
def list_audit_events(
    session: SessionDep,
    staff: BureauStaff,
    paging: Paging,
    object_type: Annotated[str | None, Query(max_length=32)] = None,
    object_id: IdFilter = None,
    actor_id: IdFilter = None,
) -> AuditEventPage:
    """Every state change and approval, newest first (bureau only)."""
    stmt = events_query(object_type=object_type, object_id=object_id, actor_id=actor_id)
    return paging.page(session, stmt, AuditEventPage)
