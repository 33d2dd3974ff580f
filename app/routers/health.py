from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from app.deps import SessionDep
from app.errors import MatcherStarting, error_responses
from app.services import match_sync

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str = "ok"


@router.get("/healthz", summary="健康检查", responses=error_responses(503))
def healthz(session: SessionDep) -> Health:
    """200 once the database answers (liveness)."""
    session.execute(text("SELECT 1"))
    return Health()


@router.get("/readyz", summary="就绪检查", responses=error_responses(503))
def readyz(session: SessionDep) -> Health:
    """200 once the database answers and the matcher can search (its index loaded)."""
    session.execute(text("SELECT 1"))
    if (reason := match_sync.readiness(session)) is not None:
        raise MatcherStarting(f"服务尚未就绪：{reason}")
    return Health()
