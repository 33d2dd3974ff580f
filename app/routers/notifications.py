from typing import Annotated

from fastapi import APIRouter, Query

from app.deps import CurrentUser, ObjectId, Paging, SessionDep
from app.errors import error_responses
from app.schemas.notification import (
    NotificationPage,
    NotificationRead,
    ReadAllResult,
    UpcomingRead,
)
from app.services import notifications
from app.services.pagination import paginate
from app.services.upcoming import upcoming

router = APIRouter(tags=["notifications"])


@router.get("/notifications", summary="我的通知", responses=error_responses(401, 422))
def list_notifications(
    session: SessionDep,
    user: CurrentUser,
    paging: Paging,
    unread: Annotated[bool, Query(description="只列未读的通知")] = False,
) -> NotificationPage:
    """The signed-in user's own notifications, newest first, with the number unread."""
    stmt = notifications.notifications_query(user, unread=unread)
    items, total = paginate(session, stmt, limit=paging.limit, offset=paging.offset)
    return NotificationPage.model_validate(
        {
            "items": items,
            "total": total,
            "limit": paging.limit,
            "offset": paging.offset,
            "unread": notifications.unread_count(session, user),
        }
    )


@router.post(
    "/notifications/read-all",
    summary="全部标记已读",
    responses=error_responses(401, 403),
)
def read_all_notifications(session: SessionDep, user: CurrentUser) -> ReadAllResult:
    """Mark every unread notification of the signed-in user read."""
    return ReadAllResult(read=notifications.mark_all_read(session, user=user))


@router.post(
    "/notifications/{notification_id}/read",
    summary="标记通知已读",
    responses=error_responses(401, 403, 404, 409, 422),
)
def read_notification(
    session: SessionDep, user: CurrentUser, notification_id: ObjectId
) -> NotificationRead:
    """Mark one of one's own notifications read; reading it again keeps the first time."""
    notification = notifications.mark_read(session, user=user, notification_id=notification_id)
    return NotificationRead.model_validate(notification)


@router.get("/me/upcoming", summary="近期待办与到期事项", responses=error_responses(401, 422))
def list_upcoming(
    session: SessionDep,
    user: CurrentUser,
    days: Annotated[int, Query(ge=1, le=365, description="未来多少天内（1–365）")] = 30,
    overdue: Annotated[
        bool, Query(description="是否也列出已过期但仍待办理的事项（排在最前）")
    ] = True,
) -> list[UpcomingRead]:
    """What falls due for the signed-in user in the next `days` days, soonest first."""
    found = upcoming(session, user, days=days, overdue=overdue)
    return [UpcomingRead.model_validate(item) for item in found]
