from fastapi import APIRouter, status

from app.deps import BureauStaff, ObjectId, OptionalUser, Paging, SessionDep
from app.errors import error_responses
from app.models import OrganizationKind, OrganizationStatus
from app.ratelimit import REGISTRATION_LIMIT
from app.schemas.auth import UserRead
from app.schemas.common import ReasonBody
from app.schemas.organization import (
    OrganizationPage,
    OrganizationRead,
    RegistrationCreate,
    RegistrationRead,
)
from app.services import accounts

router = APIRouter(prefix="/organizations", tags=["organizations"])


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    summary="单位注册",
    responses=error_responses(409, 422, 429),
    dependencies=[REGISTRATION_LIMIT],
)
def register_organization(session: SessionDep, body: RegistrationCreate) -> RegistrationRead:
    """Register an organisation and its first user; the bureau verifies it before it may act."""
    org, user = accounts.register(session, organization=body.organization, user=body.user)
    return RegistrationRead.model_validate(
        {**OrganizationRead.model_validate(org).model_dump(), "user": UserRead.model_validate(user)}
    )


@router.get("", summary="单位列表", responses=error_responses(401, 422))
def list_organizations(
    session: SessionDep,
    viewer: OptionalUser,
    paging: Paging,
    kind: OrganizationKind | None = None,
    status: OrganizationStatus | None = None,
) -> OrganizationPage:
    """Verified organisations; the bureau sees every one and can filter by status."""
    stmt = accounts.organizations_query(viewer, kind=kind, status=status)
    return paging.page(session, stmt, OrganizationPage)


@router.get("/{organization_id}", summary="单位详情", responses=error_responses(401, 404, 422))
def get_organization(
    session: SessionDep, viewer: OptionalUser, organization_id: ObjectId
) -> OrganizationRead:
    """One organisation: verified ones for everyone, any for the bureau and its own members."""
    return OrganizationRead.model_validate(
        accounts.get_organization(session, viewer, organization_id)
    )


@router.post(
    "/{organization_id}/verify",
    summary="审核通过单位",
    responses=error_responses(401, 403, 404, 409, 422),
)
def verify_organization(
    session: SessionDep, staff: BureauStaff, organization_id: ObjectId
) -> OrganizationRead:
    """The bureau verifies an organisation: it may then publish challenges or bid."""
    org = accounts.verify_organization(session, staff=staff, organization_id=organization_id)
    return OrganizationRead.model_validate(org)


@router.post(
    "/{organization_id}/reject",
    summary="驳回单位注册",
    responses=error_responses(401, 403, 404, 409, 422),
)
def reject_organization(
    session: SessionDep,
    staff: BureauStaff,
    organization_id: ObjectId,
    body: ReasonBody | None = None,
) -> OrganizationRead:
    """The bureau rejects an organisation's registration, optionally with a reason."""
    org = accounts.reject_organization(
        session, staff=staff, organization_id=organization_id, reason=body.reason if body else None
    )
    return OrganizationRead.model_validate(org)
