"""Index segments: a large immutable base and small append-only deltas.

The base keeps each document's *primary* features doc-major (word ids and the bigrams across
words, with counts: for rescoring, explanations and merges) and a term-major CSR of the BM25
weights of the word and bigram views (for finding candidates: a query reads only its own
terms' postings). Documents are identified by *slots*, stable numbers that the index reuses;
a base covers some slots and is never modified: deletes are tombstones kept by the index.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

if TYPE_CHECKING:
    from app.matching import kernels
else:  # numba is imported on the first search, not at start-up
    from app.matching.lazy import kernels
from app.matching.scoring import BIGRAM, CHAR, WORD, MatchConfig, bm25_tf
from app.matching.store import DocFeatures, Growable, ranges

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]
Table = tuple[int, I64, I32, npt.NDArray[np.uint8], I32, I32]

CHUNK = 32_768  # documents expanded at once while building (bounds the build's memory)


class BaseSegment:
    """Slots 0..n_slots-1 (those with ``present``), built in bulk, immutable."""

    def __init__(
        self,
        primary: sp.csr_matrix | None,
        present: npt.NDArray[np.bool_],
        table: Table,
        config: MatchConfig,
    ) -> None:
        size, self.sub_indptr, self.sub_ids, self.kinds, _, _ = table
        self.n_terms = size
        self.config = config
        if primary is None:
            primary = sp.csr_matrix((0, size), dtype=np.float32)
        self.n_slots = primary.shape[0]
        self.present = present[: self.n_slots].copy()
        self.n_docs = int(self.present.sum())
        # Shared with ``primary`` when the types already match (no copy of the largest arrays).
        self.doc_indptr = primary.indptr.astype(np.int64, copy=False)
        self.doc_terms: I32 = primary.indices.astype(np.int32, copy=False)
        self.doc_tf: F32 = primary.data.astype(np.float32, copy=False)
        # Per primary entry, whether it is a word (only words have sub-terms): read in
        # place by ``expand`` instead of a random lookup of each term's kind.
        self.doc_word = np.empty(len(self.doc_terms), dtype=np.bool_)
        for lo in range(0, len(self.doc_terms), 1 << 22):
            hi = min(lo + (1 << 22), len(self.doc_terms))
            np.equal(self.kinds[self.doc_terms[lo:hi]], WORD, out=self.doc_word[lo:hi])
        self.lengths = self._lengths()
        live = self.lengths[self.present]
        self.averages: F32 = (
            np.maximum(live.mean(axis=0), 1e-6) if len(live) else np.ones(3, np.float32)
        ).astype(np.float32)
        self._build_postings()

    def _lengths(self) -> F32:
        """Per slot, the length of each view, from the primary features alone."""
        sub_len = np.diff(self.sub_indptr)
        sub_kind = self.kinds[self.sub_ids]
        owner = np.repeat(np.arange(self.n_terms), sub_len)
        n_bigram = np.bincount(owner, weights=sub_kind == BIGRAM, minlength=self.n_terms)
        n_char = np.bincount(owner, weights=sub_kind == CHAR, minlength=self.n_terms)
        out = np.zeros((self.n_slots, 3), dtype=np.float32)
        for lo in range(0, self.n_slots, CHUNK):  # chunks bound the temporary arrays
            hi = min(lo + CHUNK, self.n_slots)
            start, end = self.doc_indptr[lo], self.doc_indptr[hi]
            rows = np.repeat(np.arange(hi - lo), np.diff(self.doc_indptr[lo : hi + 1]))
            terms = self.doc_terms[start:end]
            tf = self.doc_tf[start:end].astype(np.float64)
            words = self.kinds[terms] == WORD
            out[lo:hi, WORD] = np.bincount(rows[words], weights=tf[words], minlength=hi - lo)
            bigram = np.where(words, tf * n_bigram[terms], tf)
            out[lo:hi, BIGRAM] = np.bincount(rows, weights=bigram, minlength=hi - lo)
            out[lo:hi, CHAR] = np.bincount(rows, weights=tf * n_char[terms], minlength=hi - lo)
        return out

    def expand(self, slots: I64) -> tuple[I64, I32, F32]:
        """All features of these slots as (position in ``slots``, term, count) entries,
        not aggregated (a term may repeat within a document)."""
        starts, ends = self.doc_indptr[slots], self.doc_indptr[slots + 1]
        counts = ends - starts
        idx = ranges(starts, counts)
        rows = np.repeat(np.arange(len(slots), dtype=np.int64), counts)
        terms, tf = self.doc_terms[idx], self.doc_tf[idx]
        sub_starts = self.sub_indptr[terms]
        sub_counts = self.sub_indptr[terms + 1] - sub_starts
        sub = self.sub_ids[ranges(sub_starts, sub_counts)]
        return (
            np.concatenate([rows, np.repeat(rows, sub_counts)]),
            np.concatenate([terms, sub]),
            np.concatenate([tf, np.repeat(tf, sub_counts)]),
        )

    def _build_postings(self) -> None:
        pieces: list[tuple[int, I64, I64, I32, F32]] = []
        self.df = np.zeros(self.n_terms, dtype=np.int32)  # documents per term, all views
        for lo in range(0, self.n_slots, CHUNK):
            slots = np.arange(lo, min(lo + CHUNK, self.n_slots), dtype=np.int64)
            slots = slots[self.present[slots]]
            rows, terms, tf = self.expand(slots)
            shape = (min(CHUNK, self.n_slots - lo), self.n_terms)
            # Sums the repeated (document, term) entries, e.g. a char of several words.
            matrix = sp.csr_matrix((tf, (slots[rows] - lo, terms)), shape=shape)
            del rows, terms, tf
            indices, data = matrix.indices, matrix.data
            self.df += np.bincount(indices, minlength=self.n_terms).astype(np.int32)
            keep = self.kinds[indices] != CHAR  # chars: rescoring only, no postings
            row_of = np.repeat(np.arange(shape[0], dtype=np.int64), np.diff(matrix.indptr))[keep]
            columns = indices[keep]
            view = self.kinds[columns]
            ratio = self.lengths[row_of + lo, view] / self.averages[view]
            weights = bm25_tf(data[keep].astype(np.float32), ratio, self.config)
            indptr = np.zeros(shape[0] + 1, dtype=np.int64)
            np.cumsum(np.bincount(row_of, minlength=shape[0]), out=indptr[1:])
            matrix = sp.csr_matrix((weights, columns, indptr), shape=shape)
            piece = matrix.tocsc()
            counts_here = np.diff(piece.indptr)
            used = np.flatnonzero(counts_here)
            # Only the terms present in this chunk: a full indptr per chunk would cost
            # 8 bytes x vocabulary (millions of bigrams) each.
            pieces.append((lo, used, counts_here[used], piece.indices, piece.data))
            del piece, counts_here, matrix
        counts = np.zeros(self.n_terms, dtype=np.int64)
        for _, used, used_counts, _, _ in pieces:
            counts[used] += used_counts
        self.term_indptr = np.zeros(self.n_terms + 1, dtype=np.int64)
        np.cumsum(counts, out=self.term_indptr[1:])
        total = int(self.term_indptr[-1])
        self.post_docs: I32 = np.zeros(total, dtype=np.int32)
        self.post_weights: F32 = np.zeros(total, dtype=np.float32)
        offset = self.term_indptr[:-1].copy()
        while pieces:  # each chunk's postings go after the earlier chunks' (docs ascending)
            lo, used, used_counts, docs, weights = pieces.pop(0)
            dest = ranges(offset[used], used_counts.astype(np.int64))
            self.post_docs[dest] = docs + lo
            self.post_weights[dest] = weights
            offset[used] += used_counts
            del docs, weights, dest
        self.max_weight = np.zeros(self.n_terms, dtype=np.float32)
        nonempty = counts > 0
        if nonempty.any():
            starts = self.term_indptr[:-1][nonempty]
            self.max_weight[nonempty] = np.maximum.reduceat(self.post_weights, starts)

    def primary_rows(self, slots: I64) -> tuple[I64, I32, F32]:
        starts, ends = self.doc_indptr[slots], self.doc_indptr[slots + 1]
        counts = ends - starts
        idx = ranges(starts, counts)
        rows = np.repeat(slots, counts)
        return rows, self.doc_terms[idx], self.doc_tf[idx]

    def nbytes(self) -> int:
        arrays = (
            self.doc_indptr,
            self.doc_terms,
            self.doc_tf,
            self.doc_word,
            self.lengths,
            self.post_docs,
            self.post_weights,
            self.term_indptr,
            self.max_weight,
        )
        return int(sum(a.nbytes for a in arrays))


class _SortedPostings:
    """Postings grouped by term (CSR) in buffers of a fixed capacity: the distinct terms,
    ascending, where each one's postings start, and per posting its row and count."""

    def __init__(self, capacity: int) -> None:
        self.terms = np.zeros(capacity, dtype=np.int32)
        self.indptr = np.zeros(capacity + 1, dtype=np.int64)
        self.rows = np.zeros(capacity, dtype=np.int32)
        self.tf = np.zeros(capacity, dtype=np.float32)
        self.n_terms = 0

    @property
    def n(self) -> int:
        return int(self.indptr[self.n_terms])


TAIL_ENTRIES = 16_384  # DeltaSegment: postings kept unsorted before they join the sorted part


class DeltaSegment:
    """Documents written since the base was built.

    Their word and bigram postings are kept in two parts, both plain arrays: a *sorted* part
    (grouped by term, like the base's postings; a query finds its terms by binary search)
    and a short unsorted *tail* of the latest postings, which a query scans whole. When the
    tail exceeds ``TAIL_ENTRIES`` it is merged into the sorted part (one compiled linear
    merge), so no write and no query loops in Python over terms."""

    def __init__(self) -> None:
        self.rows: list[DocFeatures] = []
        self.slots: list[int] = []
        self._alive = np.zeros(64, dtype=np.bool_)
        self._lengths = np.zeros((64, 3), dtype=np.float32)
        self._new_tail()
        # The sorted part, in one of two sets of buffers; a merge writes into the other.
        self._sorted = _SortedPostings(0)
        self._spare = _SortedPostings(0)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def alive(self) -> npt.NDArray[np.bool_]:
        """Per row, whether it is still current (a view: writable)."""
        return self._alive[: len(self.rows)]

    @property
    def lengths(self) -> F32:
        """Per row, the length of each view."""
        return self._lengths[: len(self.rows)]

    def _new_tail(self) -> None:
        self._tail_terms = Growable(np.int32)
        self._tail_rows = Growable(np.int32)
        self._tail_tf = Growable(np.float32)

    def tail(self) -> tuple[I32, I32, F32]:
        """The unsorted postings: (term, row, count)."""
        return self._tail_terms.view(), self._tail_rows.view(), self._tail_tf.view()  # type: ignore[return-value]

    def add(self, slot: int, features: DocFeatures, kinds: npt.NDArray[np.uint8]) -> int:
        row = len(self.rows)
        if row == len(self._alive):
            self._alive = np.concatenate([self._alive, np.zeros(row, dtype=np.bool_)])
            self._lengths = np.concatenate([self._lengths, np.zeros((row, 3), np.float32)])
        self.rows.append(features)
        self.slots.append(slot)
        self._alive[row] = True
        self._lengths[row] = features.lengths
        indexed = kinds[features.ids] != CHAR  # chars: rescoring only, no postings
        self._tail_terms.extend(features.ids[indexed])
        self._tail_rows.extend(np.full(int(indexed.sum()), row, dtype=np.int32))
        self._tail_tf.extend(features.tf[indexed])
        if self._tail_terms.n > TAIL_ENTRIES:
            self._merge_tail()
        return row

    @property
    def sorted_terms(self) -> I32:
        """The sorted part's distinct terms, ascending."""
        return self._sorted.terms[: self._sorted.n_terms]

    @property
    def sorted_indptr(self) -> I64:
        """Where each of ``sorted_terms``'s postings start in ``sorted_rows``/``sorted_tf``."""
        return self._sorted.indptr[: self._sorted.n_terms + 1]

    @property
    def sorted_rows(self) -> I32:
        return self._sorted.rows[: self._sorted.n]

    @property
    def sorted_tf(self) -> F32:
        return self._sorted.tf[: self._sorted.n]

    def _merge_tail(self) -> None:
        terms, rows, tf = self.tail()
        order = np.argsort(terms, kind="stable")  # rows stay ascending within a term
        terms, rows, tf = terms[order], rows[order], tf[order]
        starts = np.flatnonzero(np.r_[True, terms[1:] != terms[:-1]])
        old, new = self._sorted, self._spare
        n = old.n + len(terms)
        if len(new.rows) < n:
            new = _SortedPostings(max(n, 2 * len(new.rows)))
        new.n_terms = kernels.merge_postings(
            self.sorted_terms,
            self.sorted_indptr,
            self.sorted_rows,
            self.sorted_tf,
            terms[starts],
            np.append(starts, len(terms)).astype(np.int64),
            rows,
            tf,
            new.terms,
            new.indptr,
            new.rows,
            new.tf,
        )
        self._sorted, self._spare = new, old
        self._new_tail()
