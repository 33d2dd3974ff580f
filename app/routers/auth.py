from typing import Annotated

from fastapi import APIRouter, Form

from app.config import get_settings
from app.deps import READS_ONLY, CurrentUser, SessionDep
from app.errors import error_responses
from app.ratelimit import SIGN_IN_LIMIT
from app.schemas.auth import SignInForm, Token, UserRead
from app.security import create_access_token
from app.services.accounts import authenticate
from app.services.experts import affiliation_of

router = APIRouter(tags=["auth"])


@router.post(
    "/auth/token",
    summary="登录，获取访问令牌",
    responses=error_responses(400, 401, 422, 429),
    dependencies=[READS_ONLY, SIGN_IN_LIMIT],
)
def sign_in(session: SessionDep, form: Annotated[SignInForm, Form()]) -> Token:
    """OAuth2 password flow: form fields `username` and `password`; answers a bearer token."""
    user = authenticate(session, username=form.username, password=form.password)
    minutes = get_settings().access_token_minutes
    return Token(access_token=create_access_token(user.id), expires_in=minutes * 60)


@router.get("/users/me", summary="当前用户", responses=error_responses(401))
def get_current_user(session: SessionDep, user: CurrentUser) -> UserRead:
    """The signed-in user, with `role` and `organization_id` (an expert's: the affiliation)."""
    read = UserRead.model_validate(user)
    return read.model_copy(update={"organization_id": affiliation_of(session, user)})
