"""Rebuild: segment every matchable object again, as a job of short transactions, never one
long one (`python -m app.bootstrap --rebuild-index`, `POST /matching/rebuild`).

A batch of objects is read, segmented outside any transaction, then written in a short
transaction of its own, only where a row still has the fingerprint read with the batch (a
concurrent edit has written newer tokens) and only where the tokens changed. The rows are
numbered at commit like any write (`number_pending`), so processes follow them like any change.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, bindparam, exists, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from app.db import READS_ONLY
from app.errors import TermsChanged
from app.matching import DocTokens, Tokenizer, analyze_many
from app.models import DocumentKind, DocumentMeta, MatchDocument
from app.services.match_sync import (
    MATCHED,
    PENDING,
    REBUILD_BATCH,
    Matchable,
    _mark_pending,
    document_fields,
    document_meta,
    fingerprint,
    runtime_for,
)

logger = logging.getLogger(__name__)

REBUILD_ATTEMPTS = 5  # per batch, when it loses a lock race or the terms change under it


def sessions_beside(session: Session) -> Callable[[], Session]:
    """Sessions for transactions of their own on the database of `session` (which may only
    read), for work that commits batch by batch."""
    bind = session.get_bind()
    if isinstance(bind, Connection):  # tests: a session joined to an outer transaction
        return lambda: Session(
            bind=bind, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
    return sessionmaker(bind=bind.execution_options(**{READS_ONLY: False}), expire_on_commit=False)


@dataclass
class _Batch:
    kind: DocumentKind
    last_id: int
    # object_id → (organization_id, fields, meta) of the objects to segment
    objects: dict[int, tuple[int, dict[str, str], DocumentMeta]] = field(default_factory=dict)
    # object_id → (fingerprint, tokens) of the stored documents, as read with the text
    stored: dict[int, tuple[str | None, DocTokens | None]] = field(default_factory=dict)


def rebuild(
    sessions: Callable[[], Session],
    *,
    progress: Callable[[int], None] | None = None,
    missing_only: bool = False,
) -> int:
    """Segment every matchable object again (or only those without a document) and store
    the tokens that changed, a batch at a time; how many objects were segmented.

    Each batch: read (a short read), segment on two worker processes (`analyze_many`, outside
    any transaction), write in a short transaction. Memory is bounded by the batch; writers
    wait at most for one batch's write; processes follow it like any change.
    """
    count = 0
    for model, declared in MATCHED.items():
        after = 0
        while (
            batch := _read_batch(sessions, model, declared.kind, after, missing_only)
        ) is not None:
            after = batch.last_id
            if batch.objects:
                _write_batch(sessions, batch)
                count += len(batch.objects)
                if progress is not None:
                    progress(count)
    return count


def _read_batch(
    sessions: Callable[[], Session],
    model: type[Matchable],
    kind: DocumentKind,
    after: int,
    missing_only: bool,
) -> _Batch | None:
    document = and_(MatchDocument.kind == kind, MatchDocument.object_id == model.id)
    with sessions() as session, session.begin():
        # One statement: the text and the stored fingerprint as of one moment (on
        # PostgreSQL, two statements could see an edit committed between them).
        rows = session.execute(
            select(model, MatchDocument.id, MatchDocument.fingerprint, MatchDocument.tokens)
            .outerjoin(MatchDocument, document)
            .where(model.id > after)
            .order_by(model.id)
            .limit(REBUILD_BATCH)
        ).all()
        if not rows:
            return None
        batch = _Batch(kind, last_id=after)
        for obj, document_id, stored_fingerprint, stored_tokens in rows:
            assert isinstance(obj, model)
            batch.last_id = obj.id
            if document_id is not None:
                batch.stored[obj.id] = (stored_fingerprint, stored_tokens)
            if not (missing_only and document_id is not None):
                batch.objects[obj.id] = (
                    obj.organization_id,
                    document_fields(obj),
                    document_meta(obj),
                )
        return batch


def _write_batch(sessions: Callable[[], Session], batch: _Batch) -> None:
    """Segment the batch and write it, again (re-segmented if the terms changed) when its
    transaction loses a lock race or the term list changed under it."""
    ids = list(batch.objects)
    texts = [batch.objects[i][1] for i in ids]
    for attempt in range(1, REBUILD_ATTEMPTS + 1):
        with sessions() as session:
            generation, tokenizer = _tokenizer_now(session)
        tokens = analyze_many(texts, tokenizer)  # no transaction open
        try:
            with sessions() as session, session.begin():
                _store_batch(session, batch, dict(zip(ids, tokens, strict=True)), generation)
            return
        except (TermsChanged, OperationalError) as exc:
            if attempt == REBUILD_ATTEMPTS or not _retryable(exc):
                raise
            logger.warning("rebuild batch of %s lost a race (%s): again", batch.kind, exc)
            time.sleep(0.1 * attempt)


def _tokenizer_now(session: Session) -> tuple[int, Tokenizer]:
    with session.begin():
        return runtime_for(session).current_tokenizer(session.connection())


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, TermsChanged):
        return True
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    # Deadlock, serialisation failure, lock timeout (PostgreSQL); a busy SQLite file.
    return sqlstate in {"40P01", "40001", "55P03"} or "database is locked" in str(exc)


def _store_batch(
    session: Session, batch: _Batch, tokens: dict[int, DocTokens], generation: int
) -> None:
    """Write the tokens that changed, where the row still has the fingerprint read with the
    batch; insert the missing rows, unless a concurrent write inserted one first."""
    updates: list[dict[str, Any]] = []
    inserts: list[dict[str, Any]] = []
    written: list[tuple[DocumentKind, int]] = []
    for object_id, (organization_id, fields, meta) in batch.objects.items():
        new_fingerprint, new_tokens = fingerprint(fields), tokens[object_id]
        if object_id not in batch.stored or batch.stored[object_id] != (
            new_fingerprint,
            new_tokens,
        ):
            written.append((batch.kind, object_id))
        if object_id not in batch.stored:
            inserts.append(
                {
                    "kind": batch.kind,
                    "object_id": object_id,
                    "organization_id": organization_id,
                    "meta": meta,
                    "tokens": new_tokens,
                    "fingerprint": new_fingerprint,
                    "seq": PENDING,
                }
            )
        elif batch.stored[object_id] != (new_fingerprint, new_tokens):
            updates.append(
                {
                    "b_id": object_id,
                    "b_was": batch.stored[object_id][0],
                    "b_tokens": new_tokens,
                    "b_fingerprint": new_fingerprint,
                }
            )
    if not updates and not inserts:
        return
    _mark_pending(session, generation, written)
    connection = session.connection()
    if updates:
        connection.execute(
            update(MatchDocument)
            .where(
                MatchDocument.kind == batch.kind,
                MatchDocument.object_id == bindparam("b_id"),
                MatchDocument.fingerprint.is_not_distinct_from(bindparam("b_was")),
            )
            .values(
                tokens=bindparam("b_tokens"), fingerprint=bindparam("b_fingerprint"), seq=PENDING
            ),
            updates,
        )
    if inserts:
        insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
        key = [MatchDocument.kind, MatchDocument.object_id]
        connection.execute(
            insert(MatchDocument).on_conflict_do_nothing(index_elements=key), inserts
        )


def ensure_documents(sessions: Callable[[], Session]) -> int:
    """Segment the objects that have no match document (e.g. after an upgrade); how many."""
    with sessions() as session:
        missing = any(
            session.scalar(
                select(
                    exists().where(
                        model.id.not_in(
                            select(MatchDocument.object_id).where(
                                MatchDocument.kind == declared.kind
                            )
                        )
                    )
                )
            )
            for model, declared in MATCHED.items()
        )
    if not missing:
        return 0
    logger.info("some objects have no match document: segmenting them")
    return rebuild(sessions, missing_only=True)
