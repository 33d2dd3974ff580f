"""Who may do what: role and verification checks shared by the services."""

from sqlalchemy.orm import Session

from app import db
from app.errors import Conflict, Forbidden
from app.models import Organization, OrganizationStatus, Role, User


def is_bureau(user: User | None) -> bool:
    return user is not None and user.role is Role.bureau


def require_role(user: User, *roles: Role) -> None:
    if user.role not in roles:
        raise Forbidden("当前角色无权执行此操作", code="role_not_allowed")


def require_not_rejected(user: User) -> None:
    """A user of an organisation the bureau rejected may read, but change nothing."""
    if user.organization.status is OrganizationStatus.rejected:
        raise Forbidden("所在单位已被科技局驳回，只能查看本单位数据", code="organization_rejected")


def require_verified(user: User) -> None:
    """Publishing, bidding and deciding on bids need an organisation the bureau has verified."""
    require_not_rejected(user)
    if not user.organization.is_verified:
        raise Forbidden("所在单位尚未通过科技局审核", code="organization_not_verified")


def require_not_banned(user: User) -> None:
    """An organisation whose project failed for misconduct may not bid until its ban ends."""
    until = user.organization.banned_until
    if until is not None and until > db.utcnow():
        day = until.astimezone(db.CHINA).date()
        raise Forbidden(
            f"所在单位因承担项目失信违规被禁止揭榜，至{day.year}年{day.month}月{day.day}日止",
            code="organization_banned",
        )


def require_party_verified(
    session: Session, organization_id: int, *, code: str, detail: str
) -> None:
    """The bureau approves nothing for an organisation that is not (or no longer) verified."""
    # A share lock: a concurrent rejection waits for this approval, or this sees the rejection.
    organization = session.get(
        Organization, organization_id, with_for_update={"read": True}, populate_existing=True
    )
    if organization is None or not organization.is_verified:
        raise Conflict(detail, code=code)


def same_organization(user: User | None, organization_id: int) -> bool:
    return user is not None and user.organization_id == organization_id
