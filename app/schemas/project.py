from datetime import datetime

from pydantic import Field

from app.models import ProjectStatus
from app.schemas.common import Money, Page, ReadModel


class ProjectRead(ReadModel):
    id: int
    challenge_id: int
    bid_id: int
    owner_organization_id: int
    performer_organization_id: int
    title: str
    budget: Money
    publicity_ends_at: datetime
    status: ProjectStatus = Field(validation_alias="current_status")
    status_reason: str | None
    created_at: datetime
    updated_at: datetime


class ProjectPage(Page[ProjectRead]):
    """项目列表：一页 `items`，`total` 为符合条件的总数。"""
