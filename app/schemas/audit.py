from datetime import datetime
from typing import Any

from app.schemas.common import ReadModel


class AuditEventRead(ReadModel):
    id: int
    created_at: datetime
    actor_id: int | None
    action: str
    object_type: str
    object_id: int
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None
