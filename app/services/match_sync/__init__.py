"""The database side of matching: which fields are matched, the stored documents, and how
every process's index follows them. (docs/matching.md, "Keeping processes in step", tells
the same for a newcomer.)

Documents. Each challenge, capability and result has one `match_document` row: its tokens,
segmented from the columns declared in `MATCHED`; its filter metadata (`DocumentMeta`); and
the fingerprint of the text it was segmented from. A flush that creates, edits or deletes
such an object writes its row in the same transaction (`write_documents`, an `after_flush`
hook), segmenting only when a matched column changed; a deletion leaves a tombstone
(`tokens` None).

Change numbers. Those rows get the placeholder number `PENDING`; just before commit
(`number_pending`, a `before_commit` hook) they get the transaction's change number. On
PostgreSQL that is the transaction's own id, taken without locking any shared row, so numbers
commit out of order; on SQLite, which commits one writer at a time, the next value of the
counter `match_state.seq`. A process remembers a `Horizon`: which numbers had committed when
it last read. Before a search it applies every row whose number the horizon had not seen
committed (`Runtime.catch_up`), reading the new horizon first; a new process first loads every
document, a batch per query, the same way.

Generation. `match_state.generation` is the version of the bureau's term list and nothing
else. Adding or deleting a term re-segments the documents whose text contains it and bumps
the generation in the same transaction; processes get those documents like any change and
rebuild only their tokenizer. A transaction whose tokens came from an older term list than
the one current when it commits segments them again before taking its number; if the list
changes in the few moments after that, it is refused (`TermsChanged`, and the request runs
again). On PostgreSQL every commit holds `TERMS_LOCK` shared from its number to its end, and
a term change takes it exclusively, so the generation cannot change in between.

Rebuild (`rebuilding.rebuild`, a job of short transactions) lives in `rebuilding.py`.
"""

import gc
import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Row,
    String,
    cast,
    exists,
    func,
    inspect,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy import event as sa_event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import InstanceState, Session, SessionTransaction, UOWTransaction

from app.config import get_settings
from app.errors import TermsChanged
from app.matching import DocTokens, Match, MatchIndex, Tokenizer, analyze
from app.models import (
    Capability,
    Challenge,
    DocumentKind,
    DocumentMeta,
    MatchDocument,
    MatchState,
    MatchTerm,
    Result,
)

logger = logging.getLogger(__name__)

Matchable = Challenge | Capability | Result
# The number of a row written by a transaction that has not committed yet (never committed:
# `number_pending` renumbers it before commit); below every real number, so no catch-up reads it.
PENDING = -1
DELETED = ""  # the fingerprint of a tombstone: no text
LOAD_BATCH = 2_000  # rows per query when a process loads its index or catches up
# A process with more changes than this to apply loads anew instead: one update of today's
# index took ~3 ms on the 2-core machine (docs/performance.md), a bulk load far less each.
RELOAD_AFTER = 2_000
REBUILD_BATCH = 5_000  # objects segmented and written per short transaction of a rebuild
RESEGMENT_AT_COMMIT = 100  # documents a commit segments again itself if the terms changed
_PENDING_KEY = "match_documents_pending"
_SEGMENTED_AT_KEY = "match_segmented_at"  # the term-list generations this transaction used
_TERMS_KEY = "match_terms_changed"


# What the matcher reads. Adding a matched column is one line here (then `python -m
# app.bootstrap --rebuild-index` segments the existing rows); a text column the matcher must
# not read goes into `left_out`. tests/test_match_fields.py fails for a text column (String,
# Text, JSON) of a matchable model that is in neither.


def _text(value: str | None) -> str:
    return value or ""


def _words(value: list[str] | None) -> str:
    return " ".join(value or [])


def _indicators(value: list[dict[str, Any]] | None) -> str:
    return " ".join(
        f"{i.get('name', '')} {i.get('target', '')}{i.get('unit', '')}" for i in value or []
    )


@dataclass(frozen=True)
class Matched:
    """How the matcher reads one column: into which of its fields, as what text."""

    field: str  # a key of app.matching.FIELD_WEIGHTS
    render: Callable[[Any], str] = _text


@dataclass(frozen=True)
class MatchedModel:
    kind: DocumentKind
    # Column → how it is read; columns that share a field are joined by a newline, in order.
    matched: Mapping[str, Matched]
    # The model's other text columns, left out on purpose.
    left_out: frozenset[str] = field(default_factory=frozenset)


_OFFERING_TEXT = {
    "title": Matched("title"),
    "description": Matched("description"),
    "tags": Matched("tags", _words),
}
MATCHED: dict[type[Matchable], MatchedModel] = {
    Challenge: MatchedModel(
        DocumentKind.challenge,
        matched={
            "title": Matched("title"),
            "description": Matched("description"),
            "expected_outcome": Matched("description"),
            "indicators": Matched("indicators", _indicators),
            "tags": Matched("tags", _words),
        },
        # Filters (region, sector, status) are metadata, not text; contact and the status
        # reason say nothing about the problem.
        left_out=frozenset({"region", "sector", "status", "contact", "status_reason"}),
    ),
    Capability: MatchedModel(DocumentKind.capability, matched=_OFFERING_TEXT),
    Result: MatchedModel(
        DocumentKind.result,
        matched=_OFFERING_TEXT,
        left_out=frozenset({"maturity", "transfer_mode", "patents"}),
    ),
}
KINDS: dict[type[Matchable], DocumentKind] = {model: m.kind for model, m in MATCHED.items()}
MODELS: dict[DocumentKind, type[Matchable]] = {kind: model for model, kind in KINDS.items()}


def document_fields(obj: Matchable) -> dict[str, str]:
    """The text the matcher reads, by matcher field (the field weights live in app.matching)."""
    fields: dict[str, str] = {}
    for column, how in MATCHED[type(obj)].matched.items():
        text = how.render(getattr(obj, column))
        fields[how.field] = f"{fields[how.field]}\n{text}" if how.field in fields else text
    return fields


def fingerprint(fields: Mapping[str, str]) -> str:
    """A short digest of a document's text (32 hex digits)."""
    encoded = json.dumps(fields, ensure_ascii=False, sort_keys=True).encode()
    return hashlib.blake2b(encoded, digest_size=16).hexdigest()


def document_meta(obj: Matchable) -> DocumentMeta:
    """What the filters need at query time, without asking the database."""
    if isinstance(obj, Challenge):
        return DocumentMeta(
            organization_id=obj.organization_id,
            status=obj.status,
            sector=obj.sector,
            region=obj.region,
            deadline=obj.deadline.timestamp(),
        )
    return DocumentMeta(organization_id=obj.organization_id)


def search(
    index: MatchIndex, query: DocTokens, *, limit: int, where: Callable[[DocumentMeta], bool]
) -> list[Match]:
    """The index's best matches whose metadata passes `where`."""
    if not query:
        return []

    def passes(meta: Mapping[str, object]) -> bool:
        document = meta.get(_META)
        return isinstance(document, DocumentMeta) and where(document)

    return index.search(query, limit=limit, where=passes)


_META = "meta"


def _engine_meta(meta: DocumentMeta) -> Mapping[str, object]:
    # The engine keeps a copy of a mapping per document and hands it back to `where` without
    # reading it: the DocumentMeta travels inside one (see `search`).
    return {_META: meta}


@dataclass(frozen=True)
class Horizon:
    """Which change numbers had committed at one moment: all below `upto` except those in
    `running`; any other number may still commit. A row whose number it had not seen committed
    may be newer than what a process holds.

    On PostgreSQL a number is the writing transaction's id, given when it starts writing, not
    when it commits; the horizon is a snapshot of the transactions (its xmax and in-progress
    list). On SQLite it is `match_state.seq` + 1, with nothing running.
    """

    upto: int
    running: tuple[int, ...] = ()

    def not_seen(self) -> ColumnElement[bool]:
        """SQL: the rows whose number had not committed at this horizon."""
        later = MatchDocument.seq >= self.upto
        return or_(later, MatchDocument.seq.in_(self.running)) if self.running else later


@dataclass(frozen=True)
class _State:
    horizon: Horizon
    generation: int
    changes: int  # rows not seen by the horizon asked about, counted up to RELOAD_AFTER + 1


def _read_state(connection: Connection, since: Horizon | None = None) -> _State:
    """The horizon now and the term-list generation, in one statement, with how many rows the
    horizon `since` had not seen (at most RELOAD_AFTER + 1 are counted)."""
    changes: ColumnElement[int] = literal(0)
    if since is not None:
        not_seen = select(MatchDocument.id).where(since.not_seen()).limit(RELOAD_AFTER + 1)
        changes = select(func.count()).select_from(not_seen.subquery()).scalar_subquery()
    if connection.dialect.name == "postgresql":
        snapshot = cast(func.pg_current_snapshot(), String)
        # A snapshot leaves out its own transaction, which may commit rows after this read.
        own = cast(cast(func.pg_current_xact_id_if_assigned(), String), BigInteger)
        taken, own_id, generation, count = connection.execute(
            select(snapshot, own, MatchState.generation, changes)
        ).one()
        _, xmax, running = str(taken).split(":")  # "xmin:xmax:in-progress,..."
        ids = [int(x) for x in running.split(",") if x] + ([own_id] if own_id else [])
        horizon = Horizon(int(xmax), tuple(sorted(ids)))
    else:
        seq, generation, count = connection.execute(
            select(MatchState.seq, MatchState.generation, changes)
        ).one()
        horizon = Horizon(int(seq) + 1)
    return _State(horizon, int(generation), int(count))


class Runtime:
    """One process's tokenizer and indexes for one database, and how far it has caught up."""

    def __init__(self) -> None:
        self.lock = threading.RLock()  # over the indexes and `horizon`; not held while loading
        self._loading = threading.Lock()
        self._terms = threading.Lock()
        # The index holds every change this horizon had seen committed (or a newer version).
        self.horizon = Horizon(0)
        # The term-list generation the index has caught up with; -1 until it is loaded.
        self.generation = -1
        self.tokenizer_generation = -1
        self.tokenizer = tokenizer_for(())
        self.indexes = _new_indexes()

    def current_tokenizer(self, connection: Connection) -> tuple[int, Tokenizer]:
        """The generation of the bureau's term list, and a tokenizer with those terms."""
        with self._terms:
            generation = connection.execute(select(MatchState.generation)).scalar_one()
            if generation != self.tokenizer_generation:
                # Read after the generation: the terms are at least that new, never older.
                self.tokenizer = tokenizer_for(term_pairs(connection))
                self.tokenizer_generation = generation
            return generation, self.tokenizer

    def catch_up(self, connection: Connection) -> None:
        """Apply every committed change this process has not seen yet (loading it first).

        The new horizon is read before the rows, so whatever they hold is at least as new as
        it; a row read again later (its number had not committed then) is simply applied again.
        """
        if self.generation < 0:
            self._load(connection, unless_moved_from=None)
        for may_reload in (True, False):
            seen = self.horizon
            state = _read_state(connection, since=seen)
            if state.generation != self.tokenizer_generation:
                self.current_tokenizer(connection)
            if state.changes > RELOAD_AFTER and may_reload:
                # E.g. after a rebuild that changed most tokens: loading anew is cheaper than
                # that many single updates of the index.
                self._load(connection, unless_moved_from=seen)
                continue
            with self.lock:
                if state.changes or self.horizon != seen:  # (another thread moved it)
                    for row in _changes(connection, since=self.horizon):
                        index = self.indexes[row.kind]
                        if row.tokens is None:
                            index.remove(str(row.object_id))
                        else:
                            index.upsert(str(row.object_id), row.tokens, _engine_meta(row.meta))
                self.horizon, self.generation = state.horizon, state.generation
                return

    def _load(self, connection: Connection, *, unless_moved_from: Horizon | None) -> None:
        """Every stored document, read a batch per query, into new indexes; then swapped in
        (searches meanwhile wait for this, not for the lock). Not if another thread has
        loaded, or moved on from the horizon `unless_moved_from`, while this one waited.

        The horizon is read first: every change it had seen committed is in the rows read,
        and the catch-up that follows applies the others again.
        """
        with self._loading:
            if self.generation >= 0 and self.horizon != unless_moved_from:
                return
            state = _read_state(connection)
            self.current_tokenizer(connection)
            indexes = _new_indexes()
            loaded = 0
            for kind, index in indexes.items():
                documents = _documents(connection, DocumentKind(kind))
                index.bulk_load(
                    (key, tokens, _engine_meta(meta)) for key, tokens, meta in documents
                )
                loaded += len(index)
            with self.lock:
                self.indexes, self.horizon = indexes, state.horizon
                self.generation = state.generation
            gc.freeze()  # the loaded index is long-lived: keep the collector from rescanning it
            logger.info("match index loaded: %d documents, generation %d", loaded, state.generation)


def _new_indexes() -> dict[str, MatchIndex]:
    return {kind: MatchIndex() for kind in KINDS.values()}


_DOCUMENTS = select(
    MatchDocument.id,
    MatchDocument.kind,
    MatchDocument.object_id,
    MatchDocument.tokens,
    MatchDocument.meta,
)


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


def _changes(
    connection: Connection, *, since: Horizon
) -> Iterator[Row[int, DocumentKind, int, DocTokens | None, DocumentMeta]]:
    """The rows whose number the horizon had not seen committed, a batch per query, by id: a
    key no write changes, so each row is read once, as it is when its batch is read."""
    after = 0
    while True:
        rows = connection.execute(
            _DOCUMENTS.where(since.not_seen(), MatchDocument.id > after)
            .order_by(MatchDocument.id)
            .limit(LOAD_BATCH)
        ).all()
        yield from rows
        if len(rows) < LOAD_BATCH:
            return
        after = rows[-1].id


def _documents(
    connection: Connection, kind: DocumentKind
) -> Iterator[tuple[str, DocTokens, DocumentMeta]]:
    """Every live document of this kind, a batch per query (keyset on the unique key)."""
    after = 0
    while True:
        rows = connection.execute(
            select(MatchDocument.object_id, MatchDocument.tokens, MatchDocument.meta)
            .where(MatchDocument.kind == kind, MatchDocument.object_id > after)
            .order_by(MatchDocument.object_id)
            .limit(LOAD_BATCH)
        ).all()
        for row in rows:
            if row.tokens is not None:  # not a tombstone
                yield str(row.object_id), row.tokens, row.meta
        if len(rows) < LOAD_BATCH:
            return
        after = rows[-1].object_id


def stored_tokens(session: Session, kind: DocumentKind, object_id: int) -> DocTokens:
    """An object's stored tokens ({} if it has none)."""
    tokens = session.scalar(
        select(MatchDocument.tokens).where(
            MatchDocument.kind == kind, MatchDocument.object_id == object_id
        )
    )
    return tokens or {}


def organization_tokens(session: Session, organization_id: int) -> list[DocTokens]:
    """The stored tokens of every capability and result of an organisation."""
    docs = session.scalars(
        select(MatchDocument.tokens).where(
            MatchDocument.organization_id == organization_id,
            MatchDocument.kind.in_([DocumentKind.capability, DocumentKind.result]),
        )
    )
    return [d for d in docs if d]


# Writes: every flush, and the commit.


# Held shared by every commit on PostgreSQL from its number to its end, exclusively by a term
# change: the generation a commit checked its tokens against stays current until it commits.
TERMS_LOCK = 0x6D61746368  # a pg_advisory_xact_lock key ("match")


def take_number(connection: Connection, *, terms_changed: bool = False) -> tuple[int, int]:
    """This transaction's change number, and the term-list generation it commits with (bumped
    if the terms changed).

    SQLite: the next value of the counter, whose row stays locked until commit (one writer at
    a time anyway). PostgreSQL: the transaction's id; no shared row is locked, only
    `TERMS_LOCK`, shared (a term change waits for it, and updates the generation).
    """
    if connection.dialect.name != "postgresql":
        values: dict[str, Any] = {"seq": MatchState.seq + 1}
        if terms_changed:
            values["generation"] = MatchState.generation + 1
        row = connection.execute(
            update(MatchState)
            .where(MatchState.id == 1)
            .values(**values)
            .returning(MatchState.seq, MatchState.generation)
        ).one()
        return int(row.seq), int(row.generation)
    lock = func.pg_advisory_xact_lock if terms_changed else func.pg_advisory_xact_lock_shared
    xid = cast(cast(func.pg_current_xact_id(), String), BigInteger)
    number = connection.execute(select(xid, lock(TERMS_LOCK))).scalar_one()
    # A statement of its own: its snapshot is taken after the lock was granted.
    if terms_changed:
        generation = connection.execute(
            update(MatchState)
            .where(MatchState.id == 1)
            .values(generation=MatchState.generation + 1)
            .returning(MatchState.generation)
        ).scalar_one()
    else:
        generation = connection.execute(select(MatchState.generation)).scalar_one()
    return int(number), int(generation)


def _segmented(obj: Matchable, tokenizer: Tokenizer) -> dict[str, Any]:
    fields = document_fields(obj)
    return {"tokens": analyze(fields, tokenizer), "fingerprint": fingerprint(fields)}


def _upsert(connection: Connection, row: dict[str, Any], *, replace: Sequence[str]) -> None:
    """Insert a document row; if one exists for the object, set `replace` (none: keep it)."""
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(MatchDocument).values(**row)
    key = [MatchDocument.kind, MatchDocument.object_id]
    if replace:
        connection.execute(
            stmt.on_conflict_do_update(
                index_elements=key, set_={name: stmt.excluded[name] for name in replace}
            )
        )
    else:
        connection.execute(stmt.on_conflict_do_nothing(index_elements=key))


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
    generation, tokenizer = runtime_for(session).current_tokenizer(connection)
    written = [*removed, *(obj for obj, _ in changes)]
    _mark_pending(session, generation, [(KINDS[type(obj)], obj.id) for obj in written])
    for obj in removed:
        tombstone = {"tokens": None, "fingerprint": DELETED, "seq": PENDING}
        _upsert(connection, _new_row(obj) | tombstone, replace=list(tombstone))
    for obj, resegment in changes:
        kind = KINDS[type(obj)]
        values: dict[str, Any] = {"meta": document_meta(obj), "seq": PENDING}
        if resegment:
            values |= _segmented(obj, tokenizer)
        done = connection.execute(
            update(MatchDocument)
            .where(MatchDocument.kind == kind, MatchDocument.object_id == obj.id)
            .values(**values)
        ).rowcount
        if not done:  # a new object (or one from before its document was stored)
            if not resegment:
                values |= _segmented(obj, tokenizer)
            _upsert(connection, _new_row(obj) | values, replace=list(values))


def _new_row(obj: Matchable) -> dict[str, Any]:
    return {
        "kind": KINDS[type(obj)],
        "object_id": obj.id,
        "organization_id": obj.organization_id,
        "meta": document_meta(obj),
    }


@dataclass(frozen=True)
class _TermChange:
    since: Horizon  # read before the documents containing the words were
    words: tuple[str, ...]


def _mark_pending(
    session: Session, generation: int, keys: Iterable[tuple[DocumentKind, int]]
) -> None:
    """This transaction wrote these rows, to number at commit, with tokens of this term-list
    generation (a term change with no rows still takes a number: the generation changes)."""
    pending: dict[DocumentKind, set[int]] = session.info.setdefault(_PENDING_KEY, {})
    for kind, object_id in keys:
        pending.setdefault(kind, set()).add(object_id)
    session.info.setdefault(_SEGMENTED_AT_KEY, set()).add(generation)


def number_pending(session: Session) -> None:
    """Give this transaction's pending rows its change number (the last step before commit).

    Raises TermsChanged if the term list changed since their tokens were segmented, or (for
    a term change) if an object containing its words was written meanwhile. Rows written
    inside a savepoint that was rolled back are gone (or as they were: numbering one again
    only makes processes read it again).

    The rows are found by their keys: `seq = PENDING` would read every dead index entry
    that earlier transactions left under that one value (on PostgreSQL, 120k of them after
    a rebuild: 100-150 ms per commit, which SQLite spends with its counter locked).
    """
    session.flush()  # commit flushes after this hook: flush first, so no row stays pending
    pending: dict[DocumentKind, set[int]] | None = session.info.pop(_PENDING_KEY, None)
    segmented_at: set[int] = session.info.pop(_SEGMENTED_AT_KEY, set())
    terms: _TermChange | None = session.info.pop(_TERMS_KEY, None)
    if pending is None:
        return
    connection = session.connection()
    if terms is None:
        segmented_at = _segment_again_if_terms_changed(session, pending, segmented_at)
    seq, generation = take_number(connection, terms_changed=terms is not None)
    if segmented_at - {generation} or (terms is not None and _written_meanwhile(connection, terms)):
        raise TermsChanged("匹配词表刚被修改，请重试")
    for kind, object_ids in pending.items():
        ordered = sorted(object_ids)  # rows locked in one order by every transaction
        for start in range(0, len(ordered), REBUILD_BATCH):
            connection.execute(
                update(MatchDocument)
                .where(
                    MatchDocument.kind == kind,
                    MatchDocument.object_id.in_(ordered[start : start + REBUILD_BATCH]),
                )
                .values(seq=seq)
            )


def _segment_again_if_terms_changed(
    session: Session, pending: dict[DocumentKind, set[int]], segmented_at: set[int]
) -> set[int]:
    """If a term change committed since this transaction segmented its documents, segment
    them again with the new terms, before the lock is taken; the generation they now have.

    Only for a few documents (a request's); a rebuild's batch is refused instead and runs
    again, segmented on its workers. The lock taken next still checks: a term change that
    commits between here and there refuses this transaction (TermsChanged).
    """
    generation, tokenizer = runtime_for(session).current_tokenizer(session.connection())
    if not segmented_at - {generation}:
        return segmented_at
    if sum(len(ids) for ids in pending.values()) > RESEGMENT_AT_COMMIT:
        return segmented_at
    for kind, object_ids in pending.items():
        for object_id in sorted(object_ids):
            obj = session.get(MODELS[kind], object_id)
            if not isinstance(obj, Challenge | Capability | Result):  # deleted: a tombstone
                continue
            session.connection().execute(
                update(MatchDocument)
                .where(MatchDocument.kind == kind, MatchDocument.object_id == object_id)
                .values(**_segmented(obj, tokenizer))
            )
    return {generation}


def _forget_marks(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # a rolled-back transaction's marks do not outlive it
        for key in (_PENDING_KEY, _SEGMENTED_AT_KEY, _TERMS_KEY):
            session.info.pop(key, None)


def _text_changed(obj: Matchable) -> bool:
    state: InstanceState[Matchable] = inspect(obj)
    return any(
        name in state.attrs.keys() and state.attrs[name].history.has_changes()
        for name in MATCHED[type(obj)].matched
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
sa_event.listen(Session, "after_transaction_end", _forget_marks)


# The bureau's terms.


def term_pairs(connection: Connection | Session) -> list[tuple[str, str | None]]:
    """The bureau's terms as (term, canonical) pairs; canonical is None for a plain term."""
    rows = connection.execute(
        select(MatchTerm.term, MatchTerm.canonical).order_by(MatchTerm.id)
    ).all()
    return [(row.term, row.canonical) for row in rows]


def _contains_any(model: type[Matchable], words: Sequence[str]) -> ColumnElement[bool]:
    """SQL: a matched column of the object contains one of the words (case aside)."""
    conditions = []
    for column in MATCHED[model].matched:
        attribute = getattr(model, column)
        if isinstance(attribute.type, String):
            text, needles = func.lower(attribute), [w.lower() for w in words]
        else:  # JSON: stored with non-ASCII escaped (\uXXXX), as json.dumps writes it
            text = func.lower(cast(attribute, String))
            needles = [json.dumps(w.lower())[1:-1] for w in words]
        conditions += [text.contains(needle, autoescape=True) for needle in needles]
    return or_(*conditions)


def containing(session: Session, words: Sequence[str]) -> list[Matchable]:
    """The matchable objects whose matched text contains any of `words`."""
    found: list[Matchable] = []
    if words:
        for model in MATCHED:
            found.extend(session.scalars(select(model).where(_contains_any(model, words))))
    return found


def resegment_containing(session: Session, words: Sequence[str]) -> int:
    """After a term change in this transaction: segment again, with the term list as this
    transaction has it, every document whose text contains one of `words`; at commit they
    get a number and the generation is bumped. How many were segmented."""
    connection = session.connection()
    state = _read_state(connection)  # before the documents are read
    since, generation = state.horizon, state.generation
    tokenizer = tokenizer_for(term_pairs(connection))
    objects = containing(session, words)
    for obj in objects:
        segmented = _segmented(obj, tokenizer)
        connection.execute(
            update(MatchDocument)
            .where(
                MatchDocument.kind == KINDS[type(obj)],
                MatchDocument.object_id == obj.id,
                # Unless an edit committed since the text was read (it has its own tokens;
                # if its text still holds a word, `_written_meanwhile` refuses this change).
                or_(
                    MatchDocument.fingerprint.is_(None),
                    MatchDocument.fingerprint == segmented["fingerprint"],
                ),
            )
            .values(**segmented, seq=PENDING)
        )
    _mark_pending(session, generation + 1, [(KINDS[type(obj)], obj.id) for obj in objects])
    session.info[_TERMS_KEY] = _TermChange(since, tuple(words))
    return len(objects)


def _written_meanwhile(connection: Connection, change: _TermChange) -> bool:
    """Whether a document containing the words was written by a transaction that had not
    committed when the term change read them (segmented with the old terms, committed before
    this one). This transaction's own rows are still `PENDING` here."""
    for model, declared in MATCHED.items():
        numbered = select(MatchDocument.object_id).where(
            MatchDocument.kind == declared.kind, change.since.not_seen()
        )
        stmt = select(exists().where(model.id.in_(numbered), _contains_any(model, change.words)))
        if connection.execute(stmt).scalar():
            return True
    return False
