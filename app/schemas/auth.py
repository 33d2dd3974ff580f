from datetime import datetime

from pydantic import BaseModel, Field

from app.models import Role
from app.schemas.common import ReadModel


class SignInForm(BaseModel):
    """The OAuth2 password grant's form (RFC 6749 4.3), as Swagger UI's "Authorize" sends it."""

    grant_type: str | None = Field(default=None, pattern="^password$")
    username: str
    password: str
    # Sent by OAuth2 clients; this API has no scopes and no client credentials, so unused.
    scope: str = ""
    client_id: str | None = None
    client_secret: str | None = None


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class UserRead(ReadModel):
    id: int
    username: str
    display_name: str
    role: Role
    # An expert's affiliation, null for an independent expert.
    organization_id: int | None
    created_at: datetime
