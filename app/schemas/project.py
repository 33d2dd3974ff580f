from datetime import datetime

from app.models import ProjectStatus
from app.schemas.common import Money, ReadModel


class ProjectRead(ReadModel):
    id: int
    challenge_id: int
    bid_id: int
    owner_organization_id: int
    performer_organization_id: int
    budget: Money
    status: ProjectStatus
    status_reason: str | None
    created_at: datetime
    updated_at: datetime
