"""Keeping every process's match index in step with the database.

Writes: a flush that creates, edits or deletes a challenge, capability or result also writes
that object's `match_document` row (tokens, filter metadata), in the same transaction, with
the placeholder number `PENDING`. Text is segmented only when it changed; a status change
rewrites the metadata alone. Just before the transaction commits, a `before_commit` hook takes
the next number of the change sequence and gives it to every pending row.

Reads: before answering, a process applies every row whose number is above the last one it
saw (`catch_up`). Taking a number locks the single `match_state` row until commit, so numbers
become visible in order and no change is skipped, whichever process wrote it; segmenting
happens before that, so writers hold the lock only for two short UPDATEs and the commit. A
rebuild or a change of the bureau's terms bumps `generation`, and every process then reloads
from scratch.
"""

import gc
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, delete, insert, inspect, or_, select, update
from sqlalchemy import event as sa_event
from sqlalchemy.orm import InstanceState, Session, UOWTransaction

from app.config import get_settings
from app.matching import MatchIndex, Tokenizer, analyze, analyze_many
from app.models import Capability, Challenge, MatchDocument, MatchState, MatchTerm, Result

logger = logging.getLogger(__name__)

Matchable = Challenge | Capability | Result
KINDS: dict[type[Any], str] = {Challenge: "challenge", Capability: "capability", Result: "result"}
TEXT_FIELDS = ("title", "description", "expected_outcome", "indicators", "tags")
REBUILD_BATCH = 5_000
# The number of a row written by a transaction that has not committed yet (never committed:
# `number_pending` renumbers it before commit); below every real number, so no catch-up reads it.
PENDING = -1
_PENDING_KEY = "match_documents_pending"


def document_fields(obj: Matchable) -> dict[str, str]:
    """The text the matcher reads, by field (the field weights live in app.matching)."""
    fields = {
        "title": obj.title,
        "description": obj.description,
        "tags": " ".join(obj.tags or []),
    }
    if isinstance(obj, Challenge):
        fields["description"] += "\n" + (obj.expected_outcome or "")
        fields["indicators"] = " ".join(
            f"{i.get('name', '')} {i.get('target', '')}{i.get('unit', '')}"
            for i in obj.indicators or []
        )
    return fields


def document_meta(obj: Matchable) -> dict[str, Any]:
    """What the filters need at query time, without asking the database."""
    meta: dict[str, Any] = {
        "id": obj.id,
        "organization_id": obj.organization_id,
        "title": obj.title,
    }
    if isinstance(obj, Challenge):
        meta |= {
            "status": obj.status.value,
            "sector": obj.sector.value,
            "region": obj.region,
            # Bidding ends at the deadline even before a sweep marks the challenge closed.
            "deadline": obj.deadline.timestamp(),
        }
    return meta


class Runtime:
    """One process's tokenizer and indexes for one database, and how far it has caught up."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.seq = 0
        self.generation = -1  # of the indexes
        self.tokenizer_generation = -1
        self.tokenizer = tokenizer_for(())
        self.indexes = _new_indexes()

    def current_tokenizer(self, connection: Connection) -> Tokenizer:
        """The tokenizer with the bureau's terms as the database has them now."""
        with self.lock:
            generation = connection.execute(select(MatchState.generation)).scalar_one()
            if generation != self.tokenizer_generation:
                terms = connection.execute(select(MatchTerm.term, MatchTerm.canonical)).all()
                self.tokenizer = tokenizer_for((t.term, t.canonical) for t in terms)
                self.tokenizer_generation = generation
            return self.tokenizer

    def catch_up(self, connection: Connection) -> None:
        """Apply every committed change this process has not seen yet."""
        with self.lock:
            state = connection.execute(select(MatchState.seq, MatchState.generation)).one()
            if state.generation != self.generation:
                self._reload(connection)
                return
            if state.seq <= self.seq:
                return
            for row in connection.execute(_DOCUMENTS.where(MatchDocument.seq > self.seq)):
                index = self.indexes[row.kind]
                if row.tokens is None:
                    index.remove(str(row.object_id))
                else:
                    index.upsert(str(row.object_id), row.tokens, row.meta)
                self.seq = max(self.seq, row.seq)

    def _reload(self, connection: Connection) -> None:
        self.current_tokenizer(connection)
        rows = connection.execute(_DOCUMENTS).all()  # tombstones too: they carry numbers
        self.indexes = _new_indexes()
        for kind, index in self.indexes.items():
            index.bulk_load(
                (str(r.object_id), r.tokens, r.meta) for r in rows if r.kind == kind and r.tokens
            )
        self.seq = max((r.seq for r in rows), default=0)
        self.generation = self.tokenizer_generation
        gc.freeze()  # the loaded index is long-lived: keep the collector from rescanning it
        logger.info("match index loaded: %d documents, generation %d", len(rows), self.generation)


def _new_indexes() -> dict[str, MatchIndex]:
    return {kind: MatchIndex() for kind in KINDS.values()}


_DOCUMENTS = select(
    MatchDocument.kind,
    MatchDocument.object_id,
    MatchDocument.tokens,
    MatchDocument.meta,
    MatchDocument.seq,
).order_by(MatchDocument.seq)


def tokenizer_for(terms: Iterable[tuple[str, str | None]]) -> Tokenizer:
    """A tokenizer with the bureau's terms (and synonyms: term → canonical) added."""
    return _tokenizer(frozenset(terms))


@lru_cache(maxsize=4)
def _tokenizer(terms: frozenset[tuple[str, str | None]]) -> Tokenizer:
    # Shared: a Tokenizer is thread-safe and we never change one after building it.
    ordered = sorted(terms, key=lambda t: (t[0], t[1] or ""))
    plain = [term for term, canonical in ordered if canonical is None]
    synonyms = {term: canonical for term, canonical in ordered if canonical is not None}
    return Tokenizer(extra_terms=plain, synonyms=synonyms)


_runtimes: dict[str, Runtime] = {}
_runtimes_lock = threading.Lock()


def runtime_for(session: Session) -> Runtime:
    """This process's runtime for the session's database."""
    key = session.get_bind().engine.url.render_as_string(hide_password=True)
    with _runtimes_lock:
        if key not in _runtimes:
            _runtimes[key] = Runtime()
        return _runtimes[key]


def reset_runtimes() -> None:
    """Forget every in-process index (tests: each starts from what its database holds)."""
    with _runtimes_lock:
        _runtimes.clear()


def readiness(session: Session) -> str | None:
    """Why this process cannot serve matches yet (in Chinese), or None when it can.

    The index must be loaded only when the start-up warm-up loads it (MATCH_WARMUP); without
    it, the first match request loads it.
    """
    if get_settings().match_warmup and runtime_for(session).generation < 0:
        return "匹配索引正在载入"
    return None


def warm_up(factory: Callable[[], Session]) -> None:
    """Load this process's index now (at start-up), not in the first request that needs it."""
    try:
        with factory() as session:
            caught_up(session)
    except Exception:  # a missing table or database: the first request will say so
        logger.exception("match index warm-up failed")


def caught_up(session: Session) -> Runtime:
    """The runtime, after applying every change committed so far. Call before any search."""
    rt = runtime_for(session)
    rt.catch_up(session.connection())
    return rt


def next_seq(connection: Connection) -> int:
    """Take the next change number; the row stays locked until this transaction ends."""
    return connection.execute(
        update(MatchState)
        .where(MatchState.id == 1)
        .values(seq=MatchState.seq + 1)
        .returning(MatchState.seq)
    ).scalar_one()


def write_documents(
    session: Session,
    connection: Connection,
    changes: Sequence[tuple[Matchable, bool]],
    removed: Sequence[Matchable] = (),
) -> None:
    """Store tokens (re-segmented where the bool says so) and metadata for these objects.

    The rows get their change number at commit (`number_pending`), so segmenting here does
    not hold the shared `match_state` lock.
    """
    if not changes and not removed:
        return
    tokenizer = runtime_for(session).current_tokenizer(connection)
    _mark_pending(session)
    for obj in removed:
        connection.execute(
            update(MatchDocument)
            .where(MatchDocument.kind == KINDS[type(obj)], MatchDocument.object_id == obj.id)
            .values(tokens=None, seq=PENDING)
        )
    for obj, resegment in changes:
        kind = KINDS[type(obj)]
        where = (MatchDocument.kind == kind, MatchDocument.object_id == obj.id)
        values: dict[str, Any] = {"meta": document_meta(obj), "seq": PENDING}
        if resegment:
            values["tokens"] = analyze(document_fields(obj), tokenizer)
        done = connection.execute(update(MatchDocument).where(*where).values(**values)).rowcount
        if not done:
            values.setdefault("tokens", analyze(document_fields(obj), tokenizer))
            connection.execute(
                insert(MatchDocument).values(
                    kind=kind, object_id=obj.id, organization_id=obj.organization_id, **values
                )
            )


def _mark_pending(session: Session) -> None:
    session.info[_PENDING_KEY] = True


def number_pending(session: Session) -> None:
    """Give this transaction's pending rows the next change number (the last step before commit).

    Rows written inside a savepoint that was rolled back are gone, so they are not numbered;
    a flag left over from a rolled-back transaction costs one UPDATE that matches nothing.
    """
    session.flush()  # commit flushes after this hook: flush first, so no row stays pending
    if not session.info.pop(_PENDING_KEY, False):
        return
    connection = session.connection()
    seq = next_seq(connection)
    connection.execute(update(MatchDocument).where(MatchDocument.seq == PENDING).values(seq=seq))


def _text_changed(obj: Matchable) -> bool:
    state: InstanceState[Matchable] = inspect(obj)
    return any(
        name in state.attrs.keys() and state.attrs[name].history.has_changes()
        for name in TEXT_FIELDS
    )


def _after_flush(session: Session, _context: UOWTransaction) -> None:
    changes: list[tuple[Matchable, bool]] = []
    for obj in session.new:
        if type(obj) in KINDS:
            changes.append((obj, True))
    for obj in session.dirty:
        if type(obj) in KINDS and session.is_modified(obj, include_collections=False):
            changes.append((obj, _text_changed(obj)))
    removed = [obj for obj in session.deleted if type(obj) in KINDS]
    write_documents(session, session.connection(), changes, removed)


sa_event.listen(Session, "after_flush", _after_flush)
sa_event.listen(Session, "before_commit", number_pending)


def bump_generation(session: Session) -> None:
    """Make every process reload its tokenizer and indexes on its next catch-up."""
    session.execute(
        update(MatchState).where(MatchState.id == 1).values(generation=MatchState.generation + 1)
    )


def resegment(session: Session, objects: Iterable[Matchable], tokenizer: Tokenizer) -> int:
    """Segment these objects again with `tokenizer` and store their tokens."""
    connection = session.connection()
    count = 0
    _mark_pending(session)
    for obj in objects:
        connection.execute(
            update(MatchDocument)
            .where(MatchDocument.kind == KINDS[type(obj)], MatchDocument.object_id == obj.id)
            .values(tokens=analyze(document_fields(obj), tokenizer), seq=PENDING)
        )
        count += 1
    return count


def rebuild(
    session: Session, *, tokenizer: Tokenizer, progress: Callable[[int], None] | None = None
) -> int:
    """Segment every matchable object again and replace all stored documents.

    Segmentation runs in batches on two worker processes (see `analyze_many`): the tokens are
    the same as one at a time, at several MB/s.
    """
    session.flush()
    connection = session.connection()
    connection.execute(delete(MatchDocument))
    _mark_pending(session)
    count = 0
    for model, kind in KINDS.items():
        rows = session.scalars(select(model).order_by(model.id)).all()
        for start in range(0, len(rows), REBUILD_BATCH):
            batch = rows[start : start + REBUILD_BATCH]
            tokens = analyze_many([document_fields(obj) for obj in batch], tokenizer)
            connection.execute(
                insert(MatchDocument),
                [
                    {
                        "kind": kind,
                        "object_id": obj.id,
                        "organization_id": obj.organization_id,
                        "tokens": doc,
                        "meta": document_meta(obj),
                        "seq": PENDING,
                    }
                    for obj, doc in zip(batch, tokens, strict=True)
                ],
            )
            count += len(batch)
            if progress is not None:
                progress(count)
    bump_generation(session)
    return count


def term_pairs(session: Session) -> list[tuple[str, str | None]]:
    """The bureau's terms as (term, canonical) pairs; canonical is None for a plain term."""
    return [
        (t.term, t.canonical) for t in session.scalars(select(MatchTerm).order_by(MatchTerm.id))
    ]


def containing(session: Session, words: Sequence[str]) -> list[Matchable]:
    """The matchable objects whose title or description contains any of `words`."""
    found: list[Matchable] = []
    for model in KINDS:
        conditions = [
            cond
            for w in words
            for cond in (
                model.title.contains(w, autoescape=True),
                model.description.contains(w, autoescape=True),
            )
        ]
        if conditions:
            found.extend(session.scalars(select(model).where(or_(*conditions))))
    return found


def ensure_documents(session: Session) -> int:
    """Rebuild the stored documents if any matchable object has none (e.g. after an upgrade)."""
    missing = 0
    for model, kind in KINDS.items():
        stored = select(MatchDocument.object_id).where(MatchDocument.kind == kind)
        missing += len(session.scalars(select(model.id).where(model.id.not_in(stored))).all())
    if not missing:
        return 0
    logger.info("%d objects have no match document: rebuilding", missing)
    return rebuild(session, tokenizer=tokenizer_for(term_pairs(session)))
