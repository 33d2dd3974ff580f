"""Who could solve what: ranked matches in both directions, filtered by what the viewer may see.

Universities are shown only published challenges; enterprises only the capabilities and
results of verified organisations; nobody is recommended its own organisation's items.
"""

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app import db
from app.errors import Conflict, InvalidInput, NotFound
from app.matching import DocTokens, Match, analyze, merge_tokens
from app.models import (
    Capability,
    Challenge,
    ChallengeStatus,
    DocumentKind,
    DocumentMeta,
    MatchTerm,
    Organization,
    OrganizationStatus,
    Result,
    User,
)
from app.services import audit, match_sync
from app.services.accounts import get_organization
from app.services.challenges import get_challenge
from app.services.match_sync import rebuilding
from app.services.offerings import get_offering

# Segmenting and ranking cost grows with the text: before its organisation is verified, a
# user previews at most this much (a verified one up to the schema's 20,000).
UNVERIFIED_PREVIEW_CHARS = 2_000


class Target(StrEnum):
    capabilities = "capabilities"
    results = "results"
    organizations = "organizations"
    challenges = "challenges"


@dataclass(frozen=True)
class MatchFilters:
    limit: int = 10
    sector: str | None = None
    region: str | None = None


@dataclass(frozen=True)
class MatchItem:
    id: int
    type: str
    title: str
    organization_id: int
    score: float
    terms: list[tuple[str, float]]


Matchable = type[Challenge] | type[Capability] | type[Result]
OFFERING_MODEL: dict[Target, tuple[type[Capability] | type[Result], DocumentKind]] = {
    Target.capabilities: (Capability, DocumentKind.capability),
    Target.results: (Result, DocumentKind.result),
}


def for_challenge(
    session: Session, viewer: User | None, challenge_id: int, target: Target, f: MatchFilters
) -> list[MatchItem]:
    """Capabilities, results or organisations most likely to solve this challenge."""
    rt = match_sync.caught_up(session)
    challenge = get_challenge(session, viewer, challenge_id)
    if target is Target.challenges:
        raise InvalidInput("榜单只能匹配能力、成果或单位", loc=["query", "target"])
    query = match_sync.stored_tokens(session, DocumentKind.challenge, challenge.id)
    return _rank_offerings(session, rt, query, target, f, exclude_org=challenge.organization_id)


def for_offering(
    session: Session,
    viewer: User | None,
    model: type[Capability] | type[Result],
    offering_id: int,
    f: MatchFilters,
) -> list[MatchItem]:
    """Published challenges this capability or result fits best."""
    rt = match_sync.caught_up(session)
    offering: Capability | Result = (
        get_offering(session, Capability, viewer, offering_id)
        if model is Capability
        else get_offering(session, Result, viewer, offering_id)
    )
    query = match_sync.stored_tokens(session, match_sync.KINDS[model], offering.id)
    return _rank_challenges(session, rt, query, f, exclude_org=offering.organization_id)


def for_organization(
    session: Session, viewer: User | None, organization_id: int, f: MatchFilters
) -> list[MatchItem]:
    """Published challenges that fit a whole organisation: all its capabilities and results."""
    rt = match_sync.caught_up(session)
    org = get_organization(session, viewer, organization_id)
    query = merge_tokens(match_sync.organization_tokens(session, org.id))
    return _rank_challenges(session, rt, query, f, exclude_org=org.id)


def preview(
    session: Session, viewer: User, text: str, target: Target, f: MatchFilters
) -> list[MatchItem]:
    """Matches for draft text that is not saved (e.g. a challenge being written)."""
    verified = viewer.organization.status is OrganizationStatus.verified
    if not verified and len(text) > UNVERIFIED_PREVIEW_CHARS:
        raise InvalidInput(
            f"单位通过审核前，预览文字最多 {UNVERIFIED_PREVIEW_CHARS} 字",
            loc=["body", "text"],
        )
    rt = match_sync.caught_up(session)
    query = analyze({"description": text}, rt.tokenizer)
    if target is Target.challenges:
        return _rank_challenges(session, rt, query, f, exclude_org=viewer.organization_id)
    return _rank_offerings(session, rt, query, target, f, exclude_org=viewer.organization_id)


def _rank_challenges(
    session: Session, rt: match_sync.Runtime, query: DocTokens, f: MatchFilters, *, exclude_org: int
) -> list[MatchItem]:
    now = db.utcnow().timestamp()  # the clock the challenge deadline rules read

    def where(meta: DocumentMeta) -> bool:
        return (
            meta.status is ChallengeStatus.published
            and meta.deadline is not None
            and meta.deadline > now
            and meta.organization_id != exclude_org
            and (f.sector is None or meta.sector == f.sector)
            and (f.region is None or meta.region == f.region)
        )

    index = rt.indexes[DocumentKind.challenge]
    matches = match_sync.search(index, query, limit=f.limit, where=where)
    return _items(session, Challenge, DocumentKind.challenge, matches)


def _rank_offerings(
    session: Session,
    rt: match_sync.Runtime,
    query: DocTokens,
    target: Target,
    f: MatchFilters,
    *,
    exclude_org: int,
) -> list[MatchItem]:
    orgs = _verified_organizations(session, region=f.region)
    orgs.pop(exclude_org, None)

    def where(meta: DocumentMeta) -> bool:
        return meta.organization_id in orgs

    if target is not Target.organizations:
        model, kind = OFFERING_MODEL[target]
        matches = match_sync.search(rt.indexes[kind], query, limit=f.limit, where=where)
        return _items(session, model, kind, matches)
    # An organisation ranks by its best-matching capability or result.
    best: dict[int, MatchItem] = {}
    for model, kind in OFFERING_MODEL.values():
        matches = match_sync.search(rt.indexes[kind], query, limit=f.limit * 5, where=where)
        for item in _items(session, model, kind, matches):
            if item.organization_id not in best or item.score > best[item.organization_id].score:
                best[item.organization_id] = item
    ranked = sorted(best.values(), key=lambda i: (-i.score, i.organization_id))[: f.limit]
    return [
        MatchItem(
            id=i.organization_id,
            type="organization",
            title=orgs[i.organization_id],
            organization_id=i.organization_id,
            score=i.score,
            terms=i.terms,
        )
        for i in ranked
    ]


def _items(
    session: Session, model: Matchable, kind: DocumentKind, matches: list[Match]
) -> list[MatchItem]:
    """The matches as items, with titles read fresh from the database, best first."""
    ids = [int(m.key) for m in matches]
    rows = {
        row.id: row
        for row in session.execute(
            select(model.id, model.title, model.organization_id).where(model.id.in_(ids))
        )
    }
    return [
        MatchItem(
            id=int(m.key),
            type=kind.value,
            title=rows[int(m.key)].title,
            organization_id=rows[int(m.key)].organization_id,
            score=m.score,
            terms=m.terms,
        )
        for m in matches
        if int(m.key) in rows
    ]


def _verified_organizations(session: Session, *, region: str | None) -> dict[int, str]:
    stmt = select(Organization.id, Organization.name).where(
        Organization.status == OrganizationStatus.verified
    )
    if region is not None:
        stmt = stmt.where(Organization.region == region)
    return {row.id: row.name for row in session.execute(stmt)}


# The bureau's tools: domain terms, synonyms, rebuilds.


def terms_query() -> Select[MatchTerm]:
    """The bureau's domain terms and synonyms, oldest first (a stable order for paging)."""
    return select(MatchTerm).order_by(MatchTerm.id)


def add_term(session: Session, *, staff: User, term: str, canonical: str | None) -> MatchTerm:
    """Add a domain term (or a synonym of `canonical`); documents containing it are re-segmented."""
    if canonical == term:
        canonical = None
    if session.scalar(select(MatchTerm.id).where(MatchTerm.term == term)) is not None:
        raise Conflict("该词条已存在", code="term_exists")
    item = MatchTerm(term=term, canonical=canonical, created_by_id=staff.id)
    session.add(item)
    session.flush()
    match_sync.resegment_containing(session, [term] + ([canonical] if canonical else []))
    audit.record(
        session,
        actor=staff,
        action="matching.term_add",
        object_type="match_term",
        object_id=item.id,
        after={"term": term, "canonical": canonical},
    )
    return item


def delete_term(session: Session, *, staff: User, term_id: int) -> None:
    """Remove a domain term or synonym; documents containing it are re-segmented."""
    # Locked: of two racing deletions the second waits, then finds nothing (404, one audit).
    item = session.get(MatchTerm, term_id, with_for_update=True, populate_existing=True)
    if item is None:
        raise NotFound("词条不存在", code="term_not_found")
    words = [item.term] + ([item.canonical] if item.canonical else [])
    audit.record(
        session,
        actor=staff,
        action="matching.term_delete",
        object_type="match_term",
        object_id=item.id,
        before={"term": item.term, "canonical": item.canonical},
    )
    session.delete(item)
    session.flush()
    match_sync.resegment_containing(session, words)


def rebuild(session: Session, *, staff: User) -> int:
    """Segment every document again, in short transactions of its own (`rebuilding.rebuild`);
    every process follows it like any write. Audited once done.

    Commits, unlike other services: one transaction the length of a rebuild would hold its
    locks for minutes. `session` only reads (on SQLite it must hold no write lock).
    """
    sessions = rebuilding.sessions_beside(session)
    count = rebuilding.rebuild(sessions)
    with sessions() as writer, writer.begin():
        audit.record(
            writer,
            actor=staff,
            action="matching.rebuild",
            object_type="match_index",
            object_id=0,
            after={"documents": count},
        )
    return count
