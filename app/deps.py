"""Dependencies shared by the routers: the session, the signed-in user, paging."""

import re
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import Select
from sqlalchemy.orm import Session

from app.db import READ_METHODS, get_session, reads_only
from app.errors import Forbidden, NotAuthenticated
from app.models import Role, User
from app.schemas.common import MAX_ID, Page, SearchText
from app.security import read_access_token
from app.services import search
from app.services.access import require_not_rejected
from app.services.accounts import user_by_id
from app.services.pagination import paginate

P = TypeVar("P", bound=Page[Any])

# scope="function": the commit runs when the route returns, before the response is sent.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

# For a POST that writes nothing (sign-in, previews): its transaction takes no write lock.
READS_ONLY = Depends(reads_only)

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
# C0 and C1 control characters, tab and line breaks included: no filter needs them, and
# PostgreSQL refuses NUL in text (a 500 if it reached a query).
_QUERY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def clean_query(request: Request) -> None:
    """Refuse control characters in any query parameter's name or value (422, naming it)."""
    errors = [
        {
            "type": "control_character",
            "loc": ("query", name),
            "msg": "查询参数不能包含控制字符",
            "input": value,
        }
        for name, value in request.query_params.multi_items()
        if _QUERY_CONTROL.search(name) or _QUERY_CONTROL.search(value)
    ]
    if errors:
        raise RequestValidationError(errors)


def optional_user(
    request: Request, session: SessionDep, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> User | None:
    """The signed-in user, None when no token is sent; a bad token is always a 401."""
    if token is None:
        return None
    user_id = read_access_token(token)
    user = user_by_id(session, user_id) if user_id is not None else None
    if user is None:
        raise NotAuthenticated("登录凭证无效或已过期", code="invalid_token")
    if request.method not in READ_METHODS:
        # One check for every route but plain reads (previews too): a rejected organisation
        # only reads what it has.
        require_not_rejected(user)
    return user


def current_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    if user is None:
        raise NotAuthenticated("请先登录")
    return user


def bureau_staff(user: Annotated[User, Depends(current_user)]) -> User:
    if user.role is not Role.bureau:
        raise Forbidden("仅限科技局工作人员", code="role_not_allowed")
    return user


# Ids are 32-bit integer columns: a larger number cannot name anything, and the database
# driver would refuse to send it (a 500), so it is a 422 like any bad input.
ObjectId = Annotated[int, Path(ge=1, le=MAX_ID)]
IdFilter = Annotated[int | None, Query(ge=1, le=MAX_ID)]
SearchQuery = Annotated[SearchText | None, Query(description="标题或描述包含的文字")]

OptionalUser = Annotated[User | None, Depends(optional_user)]
CurrentUser = Annotated[User, Depends(current_user)]
BureauStaff = Annotated[User, Depends(bureau_staff)]


class PageParams:
    def __init__(
        self,
        limit: Annotated[int, Query(ge=1, le=100, description="每页条数，最多 100")] = 20,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    ) -> None:
        self.limit = limit
        self.offset = offset

    def page(
        self, session: Session, stmt: Select[Any], page: type[P], *, q: str | None = None
    ) -> P:
        """Run `stmt` for this page and answer it as `page` (a `Page[XRead]`), with the total.

        `q`: the search text `stmt` filters by, if any: the transaction then prefers the
        search index, and a text checked row by row gives the total and the page's ids in one
        statement (app/services/search.py, `paginate`)."""
        search.prefer_search_index(session, q)
        one_pass = search.checked_row_by_row(q)
        items, total = paginate(
            session, stmt, limit=self.limit, offset=self.offset, one_pass=one_pass
        )
        return page.model_validate(
            {"items": items, "total": total, "limit": self.limit, "offset": self.offset}
        )


Paging = Annotated[PageParams, Depends()]
