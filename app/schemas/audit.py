from datetime import datetime
from typing import Any

from app.schemas.common import Page, ReadModel


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


class AuditEventPage(Page[AuditEventRead]):
    """审计事件列表：一页 `items`，`total` 为符合条件的总数。"""
