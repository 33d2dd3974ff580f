"""Capabilities (科研能力) and results (科技成果): owned by a university or institute, public."""

from typing import TypeVar

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from app.errors import Forbidden, NotFound
from app.models import Capability, Organization, OrganizationStatus, Result, Role, User
from app.schemas.offering import CapabilityCreate, CapabilityUpdate
from app.services import audit
from app.services.access import is_bureau, require_role, require_verified
from app.services.search import text_contains

Offering = TypeVar("Offering", Capability, Result)
RESEARCH_ROLES = (Role.university, Role.institute)
_NAMES = {Capability: ("capability", "科研能力"), Result: ("result", "科技成果")}


def _names(model: type[Capability] | type[Result]) -> tuple[str, str]:
    return _NAMES[model]


def offerings_query(
    model: type[Offering],
    viewer: User | None,
    *,
    organization_id: int | None = None,
    q: str | None = None,
) -> Select[Offering]:
    """Offerings of verified organisations (plus the viewer's own; the bureau sees all)."""
    stmt = select(model)
    if not is_bureau(viewer):
        verified = model.organization_id.in_(
            select(Organization.id).where(Organization.status == OrganizationStatus.verified)
        )
        own = model.organization_id == viewer.organization_id if viewer else None
        stmt = stmt.where(or_(verified, own) if own is not None else verified)
    if organization_id is not None:
        stmt = stmt.where(model.organization_id == organization_id)
    if q:
        stmt = stmt.where(text_contains(model.title, model.description, q))
    return stmt.order_by(model.id.desc())


def get_offering(
    session: Session,
    model: type[Offering],
    viewer: User | None,
    offering_id: int,
    *,
    for_update: bool = False,
) -> Offering:
    """One offering the viewer may see, else 404; `for_update` locks its row until commit."""
    stmt = offerings_query(model, viewer).where(model.id == offering_id).limit(1)
    if for_update:
        # A racing edit or deletion waits here, then reads the row as committed (gone: 404).
        stmt = stmt.with_for_update(of=model).execution_options(populate_existing=True)
    found = session.scalar(stmt)
    if found is None:
        _, label = _names(model)
        raise NotFound(
            f"{label}不存在",
            code="capability_not_found" if model is Capability else "result_not_found",
        )
    return found


def create_offering(
    session: Session, model: type[Offering], *, owner: User, data: CapabilityCreate
) -> Offering:
    """A verified university or institute publishes a capability or a result."""
    require_role(owner, *RESEARCH_ROLES)
    require_verified(owner)
    offering = model(
        **data.model_dump(mode="python"),
        organization_id=owner.organization_id,
        created_by_id=owner.id,
    )
    session.add(offering)
    session.flush()
    kind, _ = _names(model)
    audit.record(
        session, actor=owner, action=f"{kind}.create", object_type=kind, object_id=offering.id
    )
    return offering


def update_offering(
    session: Session,
    model: type[Offering],
    *,
    user: User,
    offering_id: int,
    data: CapabilityUpdate,
) -> Offering:
    """The owning organisation edits its offering."""
    offering = _owned(session, model, user, offering_id)
    changes = data.model_dump(mode="python", exclude_unset=True)
    for field, value in changes.items():
        setattr(offering, field, value)
    session.flush()
    kind, _ = _names(model)
    audit.record(
        session,
        actor=user,
        action=f"{kind}.update",
        object_type=kind,
        object_id=offering.id,
        after={"fields": sorted(changes)},
    )
    return offering


def delete_offering(
    session: Session, model: type[Offering], *, user: User, offering_id: int
) -> None:
    """The owning organisation deletes its offering."""
    offering = _owned(session, model, user, offering_id)
    kind, _ = _names(model)
    audit.record(
        session,
        actor=user,
        action=f"{kind}.delete",
        object_type=kind,
        object_id=offering.id,
        before={"title": offering.title, "organization_id": offering.organization_id},
    )
    session.delete(offering)
    session.flush()


def _owned(session: Session, model: type[Offering], user: User, offering_id: int) -> Offering:
    offering = get_offering(session, model, user, offering_id, for_update=True)
    if offering.organization_id != user.organization_id or user.role not in RESEARCH_ROLES:
        _, label = _names(model)
        raise Forbidden(f"只有发布单位可以修改此{label}", code="not_offering_owner")
    require_verified(user)
    return offering
