"""MatchIndex: exact BM25 over words, character bigrams and characters (docs/matching.md).

Searches read an immutable ``Snapshot`` and take no lock; a write builds the next snapshot
under a writers-only lock and swaps it in. A write appends a segment and merges neighbours of
similar size; a removed or replaced document stays in the statistics until compaction.
Segments hold term counts; BM25's length normalisation is computed at query time on the
scoring terms' postings, so every statistic is a function of the versions held now.
"""

from __future__ import annotations

import ctypes
import itertools
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from app.matching.postings import Segment, merge
from app.matching.query import explain, query_terms, weigh
from app.matching.scoring import DEFAULT_CONFIG, MatchConfig
from app.matching.vocabulary import CHAR, Vocabulary

Where = Callable[[Any], bool]
Tokens = Mapping[str, list[str]]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
LOAD_CHUNK = 8_192  # documents encoded at once by bulk_load
# glibc keeps the heap a load frees (its copies of the postings) unless asked to return it.
MALLOC_TRIM = getattr(ctypes.CDLL(None), "malloc_trim", None) if os.name == "posix" else None
COMPACT_MIN_DEAD = 1_000


@dataclass(frozen=True)
class Match:
    """One ranked document: ``score`` in (0, 1]; ``terms`` are (query word, share of score)."""

    key: str
    score: float
    terms: list[tuple[str, float]] = field(default_factory=list)


@dataclass(frozen=True)
class Snapshot:
    """What a search reads. ``keys`` and ``meta`` are append-only lists shared with later
    snapshots (read only below ``len(alive)``); every other part is never modified."""

    segments: tuple[Segment, ...]
    alive: npt.NDArray[np.bool_]  # per slot: False once removed or replaced
    keys: list[str]
    meta: list[object]
    lengths: F64  # per view and slot; a buffer shared with later snapshots (read below len(alive))
    totals: F64  # per view, the sum of the held versions' lengths (exact: weights are dyadic)

    @property
    def averages(self) -> F64:
        """Average length per view over every held version (dead ones until compaction)."""
        return np.maximum(self.totals / max(len(self.alive), 1), 1e-9)


class MatchIndex:
    """The documents of one kind, searchable while they are written; safe between threads."""

    def __init__(self, config: MatchConfig = DEFAULT_CONFIG) -> None:
        self.config = config
        self._lock = threading.Lock()  # writers only
        self._vocab = Vocabulary()
        self._slot_of: dict[str, int] = {}
        self._snapshot = Snapshot((), np.zeros(0, np.bool_), [], [], np.zeros((3, 0)), np.zeros(3))

    def __len__(self) -> int:
        return len(self._slot_of)

    def __contains__(self, key: object) -> bool:
        return key in self._slot_of

    # writes

    def upsert(self, key: str, tokens: Tokens, meta: object) -> None:
        """Add or replace a document; the next search sees it."""
        with self._lock:
            rows, lengths = self._vocab.encode([tokens])
            self._append([key], [meta], rows, lengths, merge_segments=True)

    def remove(self, key: str) -> bool:
        """Drop a document; returns whether it was there."""
        with self._lock:
            slot = self._slot_of.pop(key, None)
            if slot is None:
                return False
            snap = self._snapshot
            alive = snap.alive.copy()
            alive[slot] = False
            self._snapshot = Snapshot(
                snap.segments, alive, snap.keys, snap.meta, snap.lengths, snap.totals
            )
            return True

    def bulk_load(self, items: Iterable[tuple[str, Tokens, object]]) -> None:
        """Add many documents (the last of a repeated key wins), read in chunks from any
        iterable, then compact the index into one segment and hand the heap it freed back to
        the system."""
        with self._lock:
            keys: list[str] = []
            meta: list[object] = []
            chunk: list[Tokens] = []
            parts: list[tuple[sp.csr_matrix, F64]] = []
            for key, tokens, item_meta in items:
                keys.append(key)
                meta.append(item_meta)
                chunk.append(tokens)
                if len(chunk) == LOAD_CHUNK:
                    parts.append(self._vocab.encode(chunk))
                    chunk = []
            if chunk:
                parts.append(self._vocab.encode(chunk))
            if parts:
                for rows, _ in parts:  # later chunks may have added terms
                    rows.resize((rows.shape[0], self._vocab.size))
                rows = sp.vstack([rows for rows, _ in parts], format="csr")
                lengths = np.concatenate([lengths for _, lengths in parts])
                del parts
                self._append(keys, meta, rows, lengths, merge_segments=False)
            self._compact()
            self._vocab.bigrams.settle()
        if MALLOC_TRIM is not None:
            MALLOC_TRIM(0)

    def compact(self) -> None:
        """Merge every segment into one and drop dead documents now."""
        with self._lock:
            self._compact()

    def _append(
        self,
        keys: list[str],
        meta: list[object],
        rows: sp.csr_matrix,
        lengths: F64,
        *,
        merge_segments: bool,
    ) -> None:
        snap = self._snapshot
        first = len(snap.alive)
        alive = np.concatenate([snap.alive, np.ones(len(keys), np.bool_)])
        for slot, key in enumerate(keys, start=first):
            old = self._slot_of.get(key)
            if old is not None:
                alive[old] = False
            self._slot_of[key] = slot
        snap.keys.extend(keys)
        snap.meta.extend(meta)
        buffer = snap.lengths
        if len(alive) > buffer.shape[1]:  # capacity doubles; older snapshots keep the old one
            buffer = np.zeros((3, max(2 * len(alive), 1024)))
            buffer[:, :first] = snap.lengths[:, :first]
        buffer[:, first : len(alive)] = lengths.T
        totals = snap.totals + lengths.sum(axis=0)
        segments = [*snap.segments, Segment.from_rows(first, rows)]
        # Neighbours of similar size merge, so there are O(log n) segments and each
        # posting is copied O(log n) times over its life.
        while (
            merge_segments and len(segments) > 1 and segments[-2].n_docs <= 2 * segments[-1].n_docs
        ):
            segments[-2:] = [merge(segments[-2:])]
        self._snapshot = Snapshot(tuple(segments), alive, snap.keys, snap.meta, buffer, totals)
        dead = len(alive) - len(self._slot_of)
        if dead > max(COMPACT_MIN_DEAD, len(alive) // 4):
            self._compact()

    def _compact(self) -> None:
        snap = self._snapshot
        if all(snap.alive) and len(snap.segments) <= 1:
            return
        live = np.flatnonzero(snap.alive).tolist()
        keys = [snap.keys[slot] for slot in live]
        self._slot_of = {key: slot for slot, key in enumerate(keys)}
        segments = (merge(list(snap.segments), snap.alive),) if live else ()
        meta = [snap.meta[slot] for slot in live]
        lengths = snap.lengths[:, live]
        alive = np.ones(len(keys), np.bool_)
        self._snapshot = Snapshot(segments, alive, keys, meta, lengths, lengths.sum(axis=1))

    @property
    def averages(self) -> F64:
        """Average length per view over the versions held now (dead ones until compaction)."""
        return self._snapshot.averages

    def nbytes(self) -> int:
        """Memory held by the index's numpy arrays (not the Python dictionaries and lists)."""
        snap = self._snapshot
        arrays = [a for s in snap.segments for a in (s.terms, s.matrix.indptr, s.matrix.indices)]
        arrays += [s.matrix.data for s in snap.segments]
        return int(sum(a.nbytes for a in arrays)) + snap.alive.nbytes + snap.lengths.nbytes

    # reads

    def search(
        self, query_tokens: Tokens, *, limit: int = 10, where: Where | None = None
    ) -> list[Match]:
        """The best ``limit`` documents that share a word or a bigram with the query (and pass
        ``where``), best first; ties by key."""
        snap = self._snapshot
        n_docs = len(snap.alive)
        query = query_terms(query_tokens, self._vocab)
        if limit <= 0 or not n_docs or query is None:
            return []
        df = np.zeros(len(query.ids), dtype=np.int64)
        located = []  # per segment, the row of each query term (-1: not there)
        for segment in snap.segments:
            row = segment.rows_of(query.ids)
            there = np.flatnonzero(row >= 0)
            indptr = segment.matrix.indptr
            df[there] += indptr[row[there] + 1] - indptr[row[there]]
            located.append(row)
        averages = snap.averages
        weighted = weigh(query, df, n_docs, averages, self.config)
        if weighted is None:
            return []
        scoring, weights = weighted.scoring, weighted.weights * (self.config.k1 + 1.0)
        telling = int((query.views[scoring] != CHAR).sum())  # they come first
        # BM25's document side is tf (k1 + 1) / (tf + norm): norm = k1 (1 - b + b length /
        # average) per view and slot, with the current averages.
        k1, b = self.config.k1, self.config.b
        norms = k1 * (1.0 - b) + snap.lengths[:, :n_docs] * (k1 * b / averages)[:, None]
        scores = np.zeros(n_docs)
        evidence = np.zeros(n_docs, dtype=np.bool_)
        parts = []
        for segment, row in zip(snap.segments, located, strict=True):
            found = np.flatnonzero(row[scoring] >= 0)
            postings = segment.matrix[row[scoring][found]]  # the scoring terms' counts
            slots = postings.indices.astype(np.int64)  # numpy gathers by int32 three times slower
            slots += segment.first
            tf = postings.data
            bounds = postings.indptr[np.searchsorted(query.views[scoring[found]], np.arange(4))]
            postings.data = np.empty(len(tf))  # tf / (tf + norm), view by view: rows in view order
            for view, (start, end) in enumerate(itertools.pairwise(bounds.tolist())):
                norm = norms[view][slots[start:end]]
                norm += tf[start:end]
                np.divide(tf[start:end], norm, out=postings.data[start:end])
            scores[segment.first : segment.first + segment.n_docs] += postings.T @ weights[found]
            # A match shares a word or a bigram: characters alone help recall, prove nothing.
            evidence[slots[: postings.indptr[int((found < telling).sum())]]] = True
            parts.append((found, slots, postings))
        scores[~(snap.alive & evidence)] = 0.0
        best = _best(scores, limit, where, snap)
        which = np.full(n_docs, -1)
        which[best] = np.arange(len(best))
        is_best = which >= 0  # a gather of booleans: a fraction of the time of int64s
        table = np.zeros((len(best), len(scoring)))  # best documents x scoring terms
        for found, slots, postings in parts:
            at = np.flatnonzero(is_best[slots])  # the best documents' postings
            term = found[np.searchsorted(postings.indptr, at, side="right") - 1]
            table[which[slots[at]], term] = postings.data[at] * weights[term]
        explained = explain(query, weighted.scoring, table, self.config.explain_terms)
        return [
            Match(snap.keys[slot], min(1.0, float(scores[slot]) / weighted.self_score), words)
            for slot, words in zip(best, explained, strict=True)
        ]


def _best(scores: F64, limit: int, where: Where | None, snap: Snapshot) -> list[int]:
    """The slots of the ``limit`` best positive scores that pass ``where``, ties by key."""
    positive = np.count_nonzero(scores)  # scores are never negative
    want = limit
    while True:
        if positive > want:
            kth = np.partition(scores, len(scores) - want)[len(scores) - want]
            top = np.flatnonzero(scores >= kth)  # every tie of the last one too
        else:
            top = np.flatnonzero(scores)
        ranked = sorted(
            zip(
                (-scores[top]).tolist(),
                [snap.keys[s] for s in top.tolist()],
                top.tolist(),
                strict=True,
            )
        )
        picked = [slot for _, _, slot in ranked if where is None or where(snap.meta[slot])]
        if len(picked) >= limit or len(top) == positive:
            return picked[:limit]
        want *= 4
