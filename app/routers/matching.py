"""Matches in both directions, draft previews, and the bureau's matcher tools."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from app.deps import (
    READS_ONLY,
    BureauStaff,
    CurrentUser,
    ObjectId,
    OptionalUser,
    Paging,
    SessionDep,
)
from app.errors import error_responses
from app.models import Capability, Result, Sector
from app.ratelimit import PREVIEW_LIMIT
from app.schemas.matching import (
    MatchItemRead,
    MatchList,
    PreviewBody,
    RebuildRead,
    TermCreate,
    TermPage,
    TermRead,
)
from app.services import matching
from app.services.matching import MatchFilters, MatchItem, Target

router = APIRouter(tags=["matching"])

READ_ERRORS = error_responses(401, 404, 422, 503)


def _filters(
    limit: Annotated[int, Query(ge=1, le=50, description="最多返回条数")] = 10,
    sector: Annotated[Sector | None, Query(description="只看该行业的榜单")] = None,
    region: Annotated[
        str | None, Query(pattern=r"^\d{6}$", description="行政区划代码（榜单或单位所在地）")
    ] = None,
) -> MatchFilters:
    return MatchFilters(limit=limit, sector=sector.value if sector else None, region=region)


Filters = Annotated[MatchFilters, Depends(_filters)]


def _answer(items: list[MatchItem]) -> MatchList:
    return MatchList(items=[MatchItemRead.model_validate(i) for i in items])


@router.get(
    "/challenges/{challenge_id}/matches", summary="榜单匹配：谁能解决", responses=READ_ERRORS
)
def list_challenge_matches(
    session: SessionDep,
    viewer: OptionalUser,
    challenge_id: ObjectId,
    filters: Filters,
    target: Annotated[
        Target, Query(description="capabilities | results | organizations")
    ] = Target.organizations,
) -> MatchList:
    """Capabilities, results or organisations most likely to solve the challenge, best first."""
    return _answer(matching.for_challenge(session, viewer, challenge_id, target, filters))


@router.get(
    "/capabilities/{capability_id}/matches", summary="能力匹配：适合的榜单", responses=READ_ERRORS
)
def list_capability_matches(
    session: SessionDep, viewer: OptionalUser, capability_id: ObjectId, filters: Filters
) -> MatchList:
    """Published challenges this capability fits best."""
    return _answer(matching.for_offering(session, viewer, Capability, capability_id, filters))


@router.get("/results/{result_id}/matches", summary="成果匹配：适合的榜单", responses=READ_ERRORS)
def list_result_matches(
    session: SessionDep, viewer: OptionalUser, result_id: ObjectId, filters: Filters
) -> MatchList:
    """Published challenges this result fits best."""
    return _answer(matching.for_offering(session, viewer, Result, result_id, filters))


@router.get(
    "/organizations/{organization_id}/matches",
    summary="单位匹配：适合的榜单",
    responses=READ_ERRORS,
)
def list_organization_matches(
    session: SessionDep, viewer: OptionalUser, organization_id: ObjectId, filters: Filters
) -> MatchList:
    """Published challenges that fit a whole university or institute, from all its offerings."""
    return _answer(matching.for_organization(session, viewer, organization_id, filters))


@router.post(
    "/matching/preview",
    summary="草稿匹配预览",
    responses=error_responses(401, 403, 422, 429, 503),
    dependencies=[READS_ONLY, PREVIEW_LIMIT],
)
def preview_matches(
    session: SessionDep, user: CurrentUser, body: PreviewBody, filters: Filters
) -> MatchList:
    """Who could solve a challenge that is still being written (or, with target=challenges,
    which challenges fit a draft capability); nothing is saved."""
    target = Target(body.target)
    return _answer(matching.preview(session, user, body.text, target, filters))


@router.get("/matching/terms", summary="领域词与同义词", responses=error_responses(401, 403, 422))
def list_match_terms(session: SessionDep, staff: BureauStaff, paging: Paging) -> TermPage:
    """The domain terms and synonyms the bureau has added, oldest first (bureau only)."""
    return paging.page(session, matching.terms_query(), TermPage)


@router.post(
    "/matching/terms",
    status_code=status.HTTP_201_CREATED,
    summary="添加领域词或同义词",
    responses=error_responses(401, 403, 409, 422),
)
def create_match_term(session: SessionDep, staff: BureauStaff, body: TermCreate) -> TermRead:
    """Add a domain term, or a synonym of `canonical`; documents containing it are re-segmented."""
    item = matching.add_term(session, staff=staff, term=body.term, canonical=body.canonical)
    return TermRead.model_validate(item)


@router.delete(
    "/matching/terms/{term_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="删除领域词或同义词",
    responses=error_responses(401, 403, 404, 422),
)
def delete_match_term(session: SessionDep, staff: BureauStaff, term_id: ObjectId) -> Response:
    """Remove a domain term or synonym; documents containing it are re-segmented."""
    matching.delete_term(session, staff=staff, term_id=term_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/matching/rebuild",
    summary="重建匹配索引",
    responses=error_responses(401, 403),
    # The rebuild writes in short transactions of its own: this request's only reads.
    dependencies=[READS_ONLY],
)
def rebuild_match_index(session: SessionDep, staff: BureauStaff) -> RebuildRead:
    """Segment every document again, batch by batch, while writes go on; every API process
    follows the changed documents (bureau only)."""
    return RebuildRead(documents=matching.rebuild(session, staff=staff))
