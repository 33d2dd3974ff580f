from fastapi import APIRouter, status

from app.deps import BureauStaff, Paging, SessionDep
from app.errors import error_responses
from app.schemas.review import ExpertCreate, ExpertPage, ExpertRead
from app.services import experts
from app.services.pagination import paginate

router = APIRouter(prefix="/experts", tags=["reviews"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="聘任评审专家",
    responses=error_responses(401, 403, 409, 422),
)
def create_expert(session: SessionDep, staff: BureauStaff, body: ExpertCreate) -> ExpertRead:
    """The bureau creates an expert; `organization_id` is the affiliation (null: independent)."""
    return ExpertRead.of(experts.create_expert(session, staff=staff, data=body))


@router.get("", summary="评审专家列表", responses=error_responses(401, 403, 422))
def list_experts(session: SessionDep, staff: BureauStaff, paging: Paging) -> ExpertPage:
    """Every expert, oldest first (bureau only)."""
    items, total = paginate(
        session, experts.experts_query(), limit=paging.limit, offset=paging.offset
    )
    return ExpertPage(
        items=[ExpertRead.of(p) for p in items],
        total=total,
        limit=paging.limit,
        offset=paging.offset,
    )
