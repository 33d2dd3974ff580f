from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from app.deps import SessionDep
from app.errors import error_responses

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str = "ok"


@router.get("/healthz", summary="健康检查", responses=error_responses(503))
def healthz(session: SessionDep) -> Health:
    """200 once the database answers."""
    session.execute(text("SELECT 1"))
    return Health()
