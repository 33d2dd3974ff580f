from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from app.models import NotificationKind
from app.schemas.common import Page, ReadModel


class UpcomingKind(StrEnum):
    """What falls due (GET /me/upcoming)."""

    bidding_deadline = "bidding_deadline"
    publicity_end = "publicity_end"
    signature = "signature"
    milestone = "milestone"
    rectification = "rectification"
    acceptance = "acceptance"


class NotificationRead(ReadModel):
    id: int
    kind: NotificationKind
    object_type: str = Field(description="通知所涉对象的类型：challenge、bid、project、milestone")
    object_id: int
    message: str
    created_at: datetime
    read_at: datetime | None = Field(description="首次标记已读的时间；未读为 null")


class NotificationPage(Page[NotificationRead]):
    """通知列表：一页 `items`（最新的在前），`total` 为符合条件的总数，`unread` 为未读总数。"""

    unread: int = Field(description="该用户全部未读通知的数量（不受分页和筛选影响）")


class ReadAllResult(BaseModel):
    read: int = Field(description="本次标记为已读的通知数量")


class UpcomingRead(ReadModel):
    kind: UpcomingKind
    object_type: str = Field(description="challenge、project 或 milestone")
    object_id: int
    due_at: datetime = Field(description="到期时刻；日期类事项为该日结束（北京时间 24 时）")
    title: str
    project_id: int | None = Field(description="所属项目；揭榜截止事项为 null")
    overdue: bool = Field(description="已过期但仍待办理（如待签署、里程碑逾期未确认）")
