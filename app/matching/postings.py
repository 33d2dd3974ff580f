"""Segments: immutable term-major postings of a run of consecutive document slots.

Per term: the slots of its documents (ascending) and each one's document side of BM25
(``scoring.bm25_tf``). Slots are numbered in write order, so neighbouring segments merge by
interleaving their postings term by term.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Segment:
    first: int  # the slot of its first document
    n_docs: int
    terms: I32  # the term ids that occur, ascending
    indptr: I64  # postings of terms[i] are [indptr[i], indptr[i + 1])
    slots: I32
    weights: F32

    @classmethod
    def from_rows(cls, first: int, rows: sp.csr_matrix) -> Segment:
        """From documents as rows of per-term weights."""
        if rows.nnz * 4 < rows.shape[1]:  # few postings: sorting them beats a pass per term
            order = np.argsort(rows.indices, kind="stable")  # stable: slots stay ascending
            doc = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))[order]
            terms, slots, weights = rows.indices[order], doc + first, rows.data[order]
            return cls._sorted(first, rows.shape[0], terms, slots, weights)
        columns = rows.tocsc()
        terms = np.flatnonzero(np.diff(columns.indptr))
        indptr = np.append(columns.indptr[terms], columns.nnz).astype(np.int64)
        slots = (columns.indices + first).astype(np.int32)
        return cls(first, rows.shape[0], terms.astype(np.int32), indptr, slots, columns.data)

    @classmethod
    def _sorted(cls, first: int, n_docs: int, terms: I32, slots: I64, weights: F32) -> Segment:
        """From postings sorted by term (then slot)."""
        starts = np.flatnonzero(np.r_[True, terms[1:] != terms[:-1]]) if len(terms) else terms
        indptr = np.append(starts, len(terms)).astype(np.int64)
        terms = terms[starts].astype(np.int32)
        return cls(first, n_docs, terms, indptr, slots.astype(np.int32), weights)

    def find(self, ids: I64) -> tuple[I64, I64, I64]:
        """Which of these terms occur here (positions in ``ids``), and where their postings
        start and end."""
        if not len(self.terms):
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
        at = np.searchsorted(self.terms, ids).clip(0, len(self.terms) - 1)
        found = np.flatnonzero(self.terms[at] == ids)
        return found, self.indptr[at[found]], self.indptr[at[found] + 1]

    def counts(self, ids: I64) -> I64:
        """How many documents of this segment contain each term (0 for ids not here)."""
        found, starts, ends = self.find(ids)
        out = np.zeros(len(ids), dtype=np.int64)
        out[found] = ends - starts
        return out


def merge(segments: list[Segment], keep: npt.NDArray[np.bool_] | None = None) -> Segment:
    """One segment from neighbouring ones (in slot order). With ``keep`` (per slot), only the
    documents it marks stay, renumbered from the first segment's first slot."""
    first, n_docs = segments[0].first, sum(s.n_docs for s in segments)
    terms = np.concatenate([np.repeat(s.terms, np.diff(s.indptr)) for s in segments])
    slots = np.concatenate([s.slots for s in segments])
    weights = np.concatenate([s.weights for s in segments])
    if keep is not None:
        span = keep[first : first + n_docs]
        renumber = np.cumsum(span) - 1 + first
        live = span[slots - first]
        terms, slots, weights = terms[live], renumber[slots[live] - first], weights[live]
        n_docs = int(span.sum())
    order = np.argsort(terms, kind="stable")  # stable: within a term, slots stay ascending
    return Segment._sorted(first, n_docs, terms[order], slots[order], weights[order])
