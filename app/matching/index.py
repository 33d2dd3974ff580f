"""MatchIndex: incremental BM25 over words, character bigrams and characters.

Writes go to a delta segment and tombstones (no array of the base is copied); when the delta
holds ``merge_threshold`` documents a background thread folds it into a new base, built
outside the lock and swapped in, so searches never wait for a merge. Document frequencies
are maintained exactly on every write, so IDF is always that of the live corpus; the average
view lengths that BM25 normalises by are those of the base (refreshed at each merge).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from app.matching.helper import default_threads
from app.matching.query import (
    Query,
    base_candidates,
    build_query,
    delta_candidates,
    explain,
    rescore_base,
    rescore_delta,
)
from app.matching.scoring import DEFAULT_CONFIG, MatchConfig
from app.matching.segments import BaseSegment, DeltaSegment, Table
from app.matching.store import DocFeatures, Vocabulary, doc_features, encode_bulk

logger = logging.getLogger(__name__)

Where = Callable[[Mapping[str, object]], bool]
I64 = npt.NDArray[np.int64]
ENCODE_CHUNK = 20_000


@dataclass(frozen=True)
class Match:
    """One ranked document: ``score`` in (0, 1]; ``terms`` are (word, share of the score)."""

    key: str
    score: float
    terms: list[tuple[str, float]] = field(default_factory=list)


class MatchIndex:
    """A thread-safe, incrementally updated index of one kind of document."""

    def __init__(
        self,
        config: MatchConfig = DEFAULT_CONFIG,
        *,
        merge_threshold: int = 2_000,
        threads: int | None = None,
    ) -> None:
        self.config = config
        self.merge_threshold = merge_threshold
        # 2: a search's postings and rescoring are split with a helper thread (helper.py).
        self.threads = default_threads() if threads is None else threads
        self._lock = threading.RLock()
        self._vocab = Vocabulary()
        self._df = np.zeros(1024, dtype=np.int32)
        self._accumulator = np.zeros(0, dtype=np.float32)  # per base slot: candidate scores
        self._slot_of: dict[str, int] = {}
        self._keys: list[str | None] = []
        self._meta: list[Mapping[str, object] | None] = []
        self._free: list[int] = []
        self._sums = np.zeros(3, dtype=np.float64)
        self._base = BaseSegment(None, np.zeros(0, np.bool_), self._vocab.table(), config)
        self._base_dead: set[int] = set()
        self._deltas: list[DeltaSegment] = [DeltaSegment()]
        self._loc: dict[int, tuple[DeltaSegment, int]] = {}
        self._frozen: list[DeltaSegment] = []  # deltas being merged
        self._dead_while_merging: set[int] = set()
        self._merge_thread: threading.Thread | None = None
        self._generation = 0  # bumped by every synchronous rebuild

    def __len__(self) -> int:
        return len(self._slot_of)

    def __contains__(self, key: object) -> bool:
        return key in self._slot_of

    # writes

    def upsert(self, key: str, tokens: Mapping[str, list[str]], meta: Mapping[str, object]) -> None:
        """Add or replace a document; the next search sees it."""
        with self._lock:
            self._remove(key)
            features = doc_features(tokens, self._vocab)
            slot = self._new_slot(key, meta)
            self._grow()
            self._df[features.ids] += 1
            self._sums += features.lengths
            delta = self._deltas[-1]
            self._loc[slot] = (delta, delta.add(slot, features, self._vocab.kinds))
            if len(delta) >= self.merge_threshold and self._merge_thread is None:
                self._merge_thread = threading.Thread(
                    target=self._merge, name="match-index-merge", daemon=True
                )
                self._merge_thread.start()

    def remove(self, key: str) -> bool:
        """Drop a document; returns whether it was there."""
        with self._lock:
            return self._remove(key)

    def bulk_load(
        self, items: Iterable[tuple[str, Mapping[str, list[str]], Mapping[str, object]]]
    ) -> None:
        """Add many documents (already tokenised) and rebuild the base once (vectorised)."""
        self.wait_for_merge()
        with self._lock:
            batch: list[tuple[int, Mapping[str, list[str]]]] = []
            parts: list[sp.csr_matrix] = []
            slots: list[int] = []
            unique = {key: (tokens, meta) for key, tokens, meta in items}  # the last one wins
            for key, (tokens, meta) in unique.items():
                self._remove(key)
                batch.append((self._new_slot(key, meta), tokens))
                if len(batch) == ENCODE_CHUNK:
                    parts.append(encode_bulk([t for _, t in batch], self._vocab))
                    slots.extend(s for s, _ in batch)
                    batch = []
            if batch:
                parts.append(encode_bulk([t for _, t in batch], self._vocab))
                slots.extend(s for s, _ in batch)
            self._rebuild(parts, np.array(slots, dtype=np.int64))

    def compact(self) -> None:
        """Fold every delta and tombstone into a new base now."""
        self.wait_for_merge()
        with self._lock:
            self._rebuild([], np.zeros(0, dtype=np.int64))

    def wait_for_merge(self) -> None:
        """Wait for a background merge, if one is running."""
        thread = self._merge_thread
        if thread is not None:
            thread.join()

    def _new_slot(self, key: str, meta: Mapping[str, object]) -> int:
        if self._free:
            slot = self._free.pop()
            self._keys[slot], self._meta[slot] = key, dict(meta)
        else:
            slot = len(self._keys)
            self._keys.append(key)
            self._meta.append(dict(meta))
        self._slot_of[key] = slot
        return slot

    def _grow(self) -> None:
        """Per-term arrays follow the vocabulary (amortised doubling: a few MB at most)."""
        size = len(self._vocab)
        if size > len(self._df):
            capacity = max(size, 2 * len(self._df))
            df = np.zeros(capacity, dtype=np.int32)
            df[: len(self._df)] = self._df
            self._df = df

    def _remove(self, key: str) -> bool:
        slot = self._slot_of.pop(key, None)
        if slot is None:
            return False
        located = self._loc.pop(slot, None)
        if located is not None:
            delta, row = located
            delta.alive[row] = False
            features = delta.rows[row]
            ids, lengths = features.ids, features.lengths
            if delta in self._frozen:
                self._dead_while_merging.add(slot)
        else:
            self._base_dead.add(slot)
            _, terms, _ = self._base.expand(np.array([slot], dtype=np.int64))
            ids, lengths = np.unique(terms), self._base.lengths[slot]
            if self._frozen:
                self._dead_while_merging.add(slot)
        self._df[ids] -= 1
        self._sums -= lengths
        self._keys[slot] = None
        self._meta[slot] = None
        self._free.append(slot)
        return True

    # merges

    def _snapshot(self, extra: list[sp.csr_matrix], extra_slots: I64) -> _Snapshot:
        """What the next base is built from: cheap (references and a copy of the tombstones),
        taken under the lock; the build itself (``_assemble``, ``BaseSegment``) needs no lock."""
        base = self._base
        base_keep = base.present.copy()  # the base's rows still current
        if self._base_dead:
            base_keep[np.fromiter(self._base_dead, np.int64, len(self._base_dead))] = False
        rows = [
            (delta.slots[row], delta.rows[row])
            for delta in self._frozen
            for row, alive in enumerate(delta.alive)
            if alive
        ]
        return _Snapshot(
            base, base_keep, rows, extra, extra_slots, len(self._keys), self._vocab.table()
        )

    def _rebuild(self, extra: list[sp.csr_matrix], extra_slots: I64) -> None:
        """Synchronous full rebuild under the lock (bulk loads and compact()); a background
        merge still running is then discarded (its input is part of this rebuild)."""
        self._generation += 1
        self._frozen = list(self._deltas)
        snapshot = self._snapshot(extra, extra_slots)
        matrix, present = _assemble(snapshot)
        table = snapshot.table
        del snapshot
        extra.clear()  # the caller's encoded chunks are in ``matrix`` now
        base = BaseSegment(matrix, present, table, self.config)
        del matrix
        self._base, self._base_dead = base, set()
        self._deltas, self._frozen, self._loc = [DeltaSegment()], [], {}
        self._dead_while_merging = set()
        self._grow()
        self._df[:] = 0
        self._df[: base.n_terms] = base.df
        self._sums = base.lengths[base.present].sum(axis=0, dtype=np.float64)

    def _merge(self) -> None:
        """Background merge: snapshot under the lock, build outside it, swap under it."""
        try:
            with self._lock:
                generation = self._generation
                self._frozen = list(self._deltas)
                self._deltas.append(DeltaSegment())
                self._dead_while_merging = set()
                snapshot = self._snapshot([], np.zeros(0, dtype=np.int64))
            matrix, present = _assemble(snapshot)
            base = BaseSegment(matrix, present, snapshot.table, self.config)
            with self._lock:
                if generation != self._generation:
                    return
                for delta in self._frozen:
                    for row, slot in enumerate(delta.slots):
                        if self._loc.get(slot) == (delta, row):
                            del self._loc[slot]
                self._deltas = [d for d in self._deltas if d not in self._frozen]
                self._base, self._base_dead = base, self._dead_while_merging
                self._frozen, self._dead_while_merging = [], set()
        except Exception:  # pragma: no cover - the deltas stay searchable
            logger.exception("match index merge failed")
            with self._lock:
                self._frozen, self._dead_while_merging = [], set()
        finally:
            self._merge_thread = None

    def nbytes(self) -> int:
        """Memory held by the numpy arrays of the index (not the Python-level dicts)."""
        return self._base.nbytes() + int(self._df.nbytes)

    # reads

    def averages(self) -> npt.NDArray[np.float32]:
        """Average view lengths: those of the base once built, else of the live corpus."""
        if self._base.n_docs:
            return self._base.averages
        n = max(len(self), 1)
        return np.maximum(self._sums / n, 1e-6).astype(np.float32)

    def search(
        self,
        query_tokens: Mapping[str, list[str]],
        *,
        limit: int = 10,
        where: Where | None = None,
    ) -> list[Match]:
        """The best ``limit`` documents for the query (that pass ``where``), best first."""
        if limit <= 0:
            return []
        with self._lock:
            averages = self.averages()
            query = build_query(
                query_tokens, self._vocab, self._df, len(self), averages, self.config
            )
            if query is None:
                return []
            scores, slots, parts = self._search(query, limit, where, averages)
            best = np.lexsort((slots, -scores))[:limit]
            explained = explain(query, parts[best], self.config.explain_terms)
            keys = self._keys
            return [
                Match(keys[slot], min(1.0, raw / query.self_score), terms)
                for raw, slot, terms in zip(
                    scores[best].tolist(), slots[best].tolist(), explained, strict=True
                )
            ]

    def _search(
        self, query: Query, limit: int, where: Where | None, averages: npt.NDArray[np.float32]
    ) -> tuple[npt.NDArray[np.float64], I64, npt.NDArray[np.float32]]:
        """The candidates' exact scores, slots and per-query-term contributions."""
        config = self.config
        want = max(config.candidates, config.candidates_per_result * limit)
        meta = self._meta
        accept = None if where is None else (lambda slot: bool(where(meta[slot])))  # type: ignore[arg-type]
        base = self._base
        dead = np.fromiter(self._base_dead, dtype=np.int64, count=len(self._base_dead))
        if len(self._accumulator) != base.n_slots:
            self._accumulator = np.zeros(base.n_slots, dtype=np.float32)
        budget = config.budget(base.n_slots, len(self))
        found = base_candidates(
            base, query, want, accept, dead, budget, self._accumulator, self.threads
        )
        groups: list[tuple[DeltaSegment | None, list[int], npt.NDArray[np.float32]]] = [
            (None, *found)
        ]
        for delta in self._deltas:
            budget = config.budget(len(delta), len(self))
            found = delta_candidates(delta, query, want, accept, averages, config, budget)
            groups.append((delta, *found))
        groups = [group for group in groups if group[1]]
        if len(groups) > 1:  # only the best ``want`` of all segments' candidates are rescored
            everyone = np.concatenate([group[2] for group in groups])
            keep = np.zeros(len(everyone), dtype=np.bool_)
            keep[np.argsort(-everyone, kind="stable")[:want]] = True
            kept = np.split(keep, np.cumsum([len(group[1]) for group in groups])[:-1])
            groups = [
                (segment, [item for item, k in zip(items, flags, strict=True) if k], first)
                for (segment, items, first), flags in zip(groups, kept, strict=True)
            ]
        scores, slots, parts = [], [], []
        for segment, items, _ in groups:
            if not items:
                continue
            if segment is None:
                slots.append(np.array(items, dtype=np.int64))
                found_scores, contributions = rescore_base(
                    base, slots[-1], averages, query, config, self.threads
                )
            else:
                slots.append(np.array([segment.slots[r] for r in items], dtype=np.int64))
                found_scores, contributions = rescore_delta(segment, items, averages, query, config)
            scores.append(found_scores)
            parts.append(contributions)
        if not scores:
            return np.zeros(0), np.zeros(0, np.int64), np.zeros((0, len(query.ids)), np.float32)
        all_scores = np.concatenate(scores)
        positive = np.flatnonzero(all_scores > 0)
        return (
            all_scores[positive],
            np.concatenate(slots)[positive],
            np.concatenate(parts)[positive],
        )


@dataclass(frozen=True)
class _Snapshot:
    base: BaseSegment
    base_keep: npt.NDArray[np.bool_]  # rows of the base still current
    rows: list[tuple[int, DocFeatures]]  # live rows of the deltas being merged
    extra: list[sp.csr_matrix]  # bulk-loaded primary features, rows = extra_slots
    extra_slots: I64
    n_slots: int
    table: Table


def _assemble(snap: _Snapshot) -> tuple[sp.csr_matrix, npt.NDArray[np.bool_]]:
    """Primary features of every live document as one slot-major matrix (rows of dead
    documents may stay, marked absent in ``present``)."""
    base, n_slots, size = snap.base, snap.n_slots, snap.table[0]
    present = np.zeros(n_slots, dtype=np.bool_)
    present[: base.n_slots] = snap.base_keep
    row_parts: list[I64] = []
    term_parts: list[npt.NDArray[np.int32]] = []
    tf_parts: list[npt.NDArray[np.float32]] = []
    for slot, features in snap.rows:
        row_parts.append(np.full(len(features.primary_ids), slot, dtype=np.int64))
        term_parts.append(features.primary_ids)
        tf_parts.append(features.primary_tf)
        present[slot] = True
    offset = 0
    for part in snap.extra:
        coo = part.tocoo()
        row_parts.append(snap.extra_slots[coo.row + offset])
        term_parts.append(coo.col.astype(np.int32))
        tf_parts.append(coo.data.astype(np.float32))
        offset += part.shape[0]
    present[snap.extra_slots] = True
    new_slots = np.concatenate(row_parts) if row_parts else np.zeros(0, dtype=np.int64)
    dead_rows = base.n_docs - int(snap.base_keep.sum())
    if (not len(new_slots) or new_slots.min() >= base.n_slots) and dead_rows <= max(
        1000, base.n_docs // 5
    ):
        # Only new slots: keep the base's rows as they are (dead ones marked absent) and
        # append the new ones, without re-sorting the whole corpus.
        fresh = base.n_slots == 0 and not snap.rows and n_slots == offset
        if snap.extra and fresh and np.array_equal(snap.extra_slots, np.arange(n_slots)):
            for part in snap.extra:
                part.resize((part.shape[0], size))
            tail = sp.vstack(snap.extra, format="csr")
        else:
            tail = sp.csr_matrix(
                (
                    np.concatenate(tf_parts) if tf_parts else np.zeros(0, np.float32),
                    (
                        new_slots - base.n_slots,
                        np.concatenate(term_parts) if term_parts else new_slots,
                    ),
                ),
                shape=(n_slots - base.n_slots, size),
            )
        tail.resize((n_slots - base.n_slots, size))
        if not base.n_slots:
            return tail, present
        head = sp.csr_matrix(
            (base.doc_tf, base.doc_terms, base.doc_indptr), shape=(base.n_slots, size)
        )
        return sp.vstack([head, tail], format="csr"), present
    keep = np.flatnonzero(snap.base_keep)
    rows, terms, tf = base.primary_rows(keep)
    matrix = sp.csr_matrix(
        (
            np.concatenate([tf, *tf_parts]).astype(np.float32),
            (np.concatenate([rows, *row_parts]), np.concatenate([terms, *term_parts])),
        ),
        shape=(n_slots, size),
    )
    return matrix, present
