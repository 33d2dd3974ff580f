"""Segments: immutable term-major postings of a run of consecutive document slots.

A segment holds, for each term that occurs in its documents, the slots of those documents
(ascending) and the term's field-weighted count in each, plus each document's length per
view. Documents are numbered by slot in the order they were written, so a segment covers
slots ``first`` to ``first + n_docs - 1`` and two neighbouring segments merge by interleaving
their postings term by term.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from app.matching.vocabulary import ranges

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Segment:
    first: int  # the slot of its first document
    lengths: F64  # (documents, 3): each document's length in each view
    terms: I32  # the term ids that occur, ascending
    indptr: I64  # postings of terms[i] are [indptr[i], indptr[i + 1])
    slots: I32
    tf: F32

    @property
    def n_docs(self) -> int:
        return len(self.lengths)

    @classmethod
    def from_rows(cls, first: int, rows: sp.csr_matrix, lengths: F64) -> Segment:
        """From documents as rows of term counts (``Vocabulary.encode``)."""
        if rows.nnz * 4 < rows.shape[1]:  # few postings: sorting them beats a pass per term
            order = np.argsort(rows.indices, kind="stable")  # stable: slots stay ascending
            doc = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))[order]
            return cls._sorted(first, lengths, rows.indices[order], doc + first, rows.data[order])
        columns = rows.tocsc()
        counts = np.diff(columns.indptr)
        terms = np.flatnonzero(counts)
        indptr = np.append(columns.indptr[terms], columns.nnz).astype(np.int64)
        slots = (columns.indices + first).astype(np.int32)
        return cls(first, lengths, terms.astype(np.int32), indptr, slots, columns.data)

    @classmethod
    def _sorted(cls, first: int, lengths: F64, terms: I32, slots: I64, tf: F32) -> Segment:
        """From postings sorted by term (then slot)."""
        starts = np.flatnonzero(np.r_[True, terms[1:] != terms[:-1]]) if len(terms) else terms
        indptr = np.append(starts, len(terms)).astype(np.int64)
        return cls(
            first, lengths, terms[starts].astype(np.int32), indptr, slots.astype(np.int32), tf
        )

    def counts(self, ids: I64) -> I64:
        """How many documents of this segment contain each term (0 for ids not here)."""
        at, found = self._find(ids)
        out = np.zeros(len(ids), dtype=np.int64)
        out[found] = self.indptr[at[found] + 1] - self.indptr[at[found]]
        return out

    def postings(self, ids: I64) -> tuple[I64, I64]:
        """The postings of these terms: for each, the position of its term in ``ids`` and its
        position in ``slots`` and ``tf``."""
        at, found = self._find(ids)
        where = np.flatnonzero(found)
        starts = self.indptr[at[where]]
        counts = self.indptr[at[where] + 1] - starts
        return np.repeat(where, counts), ranges(starts, counts)

    def _find(self, ids: I64) -> tuple[I64, npt.NDArray[np.bool_]]:
        if not len(self.terms):
            return np.zeros(len(ids), np.int64), np.zeros(len(ids), np.bool_)
        at = np.searchsorted(self.terms, ids).clip(0, len(self.terms) - 1)
        return at, self.terms[at] == ids


def merge(segments: list[Segment], keep: npt.NDArray[np.bool_] | None = None) -> Segment:
    """One segment from neighbouring ones (in slot order). With ``keep`` (per slot), only the
    documents it marks stay, renumbered from the first segment's first slot."""
    first = segments[0].first
    terms = np.concatenate([np.repeat(s.terms, np.diff(s.indptr)) for s in segments])
    slots = np.concatenate([s.slots for s in segments])
    tf = np.concatenate([s.tf for s in segments])
    lengths = np.concatenate([s.lengths for s in segments])
    if keep is not None:
        span = keep[first : first + len(lengths)]
        renumber = np.cumsum(span) - 1 + first
        live = span[slots - first]
        terms, slots, tf = terms[live], renumber[slots[live] - first], tf[live]
        lengths = lengths[span]
    order = np.argsort(terms, kind="stable")  # stable: within a term, slots stay ascending
    return Segment._sorted(first, lengths, terms[order], slots[order], tf[order])
