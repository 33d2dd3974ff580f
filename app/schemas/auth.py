from datetime import datetime

from pydantic import BaseModel

from app.models import Role
from app.schemas.common import ReadModel


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class UserRead(ReadModel):
    id: int
    username: str
    display_name: str
    role: Role
    organization_id: int
    created_at: datetime
