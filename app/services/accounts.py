"""Organisations and users: registration, sign-in, verification."""

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.errors import Conflict, InvalidCredentials, InvalidTransition, NotFound
from app.models import Organization, OrganizationKind, OrganizationStatus, Role, User
from app.schemas.common import half_width
from app.schemas.organization import OrganizationCreate, UserCreate
from app.security import dummy_hash, hash_password, verify_password
from app.services import audit
from app.services.access import is_bureau


def authenticate(session: Session, *, username: str, password: str) -> User:
    """The active user with these credentials; the same error whatever is wrong."""
    # Normalised as registration does; NUL cannot name anyone (PostgreSQL refuses it in text).
    name = half_width(username).strip().lower()
    user = None if "\x00" in name else session.scalar(select(User).where(User.username == name))
    if user is None:
        verify_password(dummy_hash(), password)  # same cost as a real check
        raise InvalidCredentials("用户名或密码错误")
    if not verify_password(user.password_hash, password) or not user.is_active:
        raise InvalidCredentials("用户名或密码错误")
    return user


def register(
    session: Session, *, organization: OrganizationCreate, user: UserCreate
) -> tuple[Organization, User]:
    """Create an unverified organisation and its first user."""
    if session.scalar(select(User.id).where(User.username == user.username)) is not None:
        raise Conflict("用户名已被使用", code="username_taken")
    if organization.credit_code is not None and session.scalar(
        select(Organization.id).where(Organization.credit_code == organization.credit_code)
    ):
        raise Conflict("该统一社会信用代码已注册", code="credit_code_taken")
    org = Organization(**organization.model_dump())
    account = User(
        organization=org,
        username=user.username,
        display_name=user.display_name,
        password_hash=hash_password(user.password),
        role=Role.for_kind(organization.kind),
    )
    session.add_all([org, account])
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:  # a concurrent registration took the name or the code
        raise Conflict("用户名或统一社会信用代码已被使用", code="registration_conflict") from exc
    audit.record(
        session,
        actor=account,
        action="organization.register",
        object_type="organization",
        object_id=org.id,
        after={"status": org.status.value, "kind": org.kind.value},
    )
    return org, account


def ensure_bureau_user(
    session: Session, *, username: str, password: str, organization_name: str = "朝阳市科学技术局"
) -> User | None:
    """Create the bureau organisation and this bureau user when missing; None if it existed."""
    username = username.strip().lower()
    if session.scalar(select(User).where(User.username == username)) is not None:
        return None
    bureau = session.scalar(
        select(Organization).where(Organization.kind == OrganizationKind.bureau).limit(1)
    )
    if bureau is None:
        bureau = Organization(
            kind=OrganizationKind.bureau,
            name=organization_name,
            region="211300",
            status=OrganizationStatus.verified,
        )
        session.add(bureau)
    user = User(
        organization=bureau,
        username=username,
        display_name="科技局管理员",
        password_hash=hash_password(password),
        role=Role.bureau,
    )
    session.add(user)
    session.flush()
    return user


def organizations_query(
    viewer: User | None, *, kind: OrganizationKind | None, status: OrganizationStatus | None
) -> Select[Organization]:
    """Verified organisations for everyone; the bureau sees all."""
    stmt = select(Organization)
    if not is_bureau(viewer):
        stmt = stmt.where(Organization.status == OrganizationStatus.verified)
    if kind is not None:
        stmt = stmt.where(Organization.kind == kind)
    if status is not None:
        stmt = stmt.where(Organization.status == status)
    return stmt.order_by(Organization.id)


def get_organization(session: Session, viewer: User | None, organization_id: int) -> Organization:
    """An organisation the viewer may see (its own, a verified one, or any for the bureau)."""
    org = session.get(Organization, organization_id)
    visible = org is not None and (
        org.status is OrganizationStatus.verified
        or is_bureau(viewer)
        or (viewer is not None and viewer.organization_id == org.id)
    )
    if org is None or not visible:
        raise NotFound("单位不存在", code="organization_not_found")
    return org


def _decide(
    session: Session,
    *,
    staff: User,
    organization_id: int,
    to: OrganizationStatus,
    reason: str | None,
) -> Organization:
    org = session.get(Organization, organization_id, with_for_update=True)
    if org is None:
        raise NotFound("单位不存在", code="organization_not_found")
    if org.kind is OrganizationKind.bureau or org.status is to:
        raise InvalidTransition(f"单位当前状态为 {org.status.value}，不能改为 {to.value}")
    before = org.status
    org.status = to
    org.reject_reason = reason
    session.flush()
    audit.record_transition(
        session,
        actor=staff,
        object_type="organization",
        object_id=org.id,
        action="verify" if to is OrganizationStatus.verified else "reject",
        before=before.value,
        after=to.value,
        reason=reason,
    )
    return org


def verify_organization(session: Session, *, staff: User, organization_id: int) -> Organization:
    """The bureau verifies an organisation (also one it rejected before)."""
    return _decide(
        session,
        staff=staff,
        organization_id=organization_id,
        to=OrganizationStatus.verified,
        reason=None,
    )


def reject_organization(
    session: Session, *, staff: User, organization_id: int, reason: str | None
) -> Organization:
    """The bureau rejects an organisation's registration (or withdraws its verification)."""
    return _decide(
        session,
        staff=staff,
        organization_id=organization_id,
        to=OrganizationStatus.rejected,
        reason=reason,
    )


def user_by_id(session: Session, user_id: int) -> User | None:
    user = session.get(User, user_id)
    return user if user is not None and user.is_active else None
