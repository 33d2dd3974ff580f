"""Who may do what: role and verification checks shared by the services."""

from app.errors import Forbidden
from app.models import Role, User


def is_bureau(user: User | None) -> bool:
    return user is not None and user.role is Role.bureau


def require_role(user: User, *roles: Role) -> None:
    if user.role not in roles:
        raise Forbidden("当前角色无权执行此操作", code="role_not_allowed")


def require_verified(user: User) -> None:
    """Publishing and bidding need an organisation the bureau has verified."""
    if not user.organization.is_verified:
        raise Forbidden("所在单位尚未通过科技局审核", code="organization_not_verified")


def same_organization(user: User | None, organization_id: int) -> bool:
    return user is not None and user.organization_id == organization_id
