"""Segments: immutable term-major postings of a run of consecutive document slots.

Per term: the slots of its documents (ascending) and each one's field-weighted count of it
(BM25's length normalisation is applied at query time, in ``MatchIndex.search``). Slots are
numbered in write order, so neighbouring segments merge by interleaving their postings term
by term.
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
    terms: I32  # the term ids that occur, ascending
    matrix: sp.csr_matrix  # row i: term terms[i]; column j: slot first + j; term count

    @property
    def n_docs(self) -> int:
        return int(self.matrix.shape[1])

    @classmethod
    def from_rows(cls, first: int, rows: sp.csr_matrix) -> Segment:
        """From documents as rows of per-term counts."""
        if rows.nnz * 4 < rows.shape[1]:  # few postings: sorting them beats a pass per term
            order = np.argsort(rows.indices, kind="stable")  # stable: slots stay ascending
            doc = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))[order]
            return cls._sorted(first, rows.shape[0], rows.indices[order], doc, rows.data[order])
        columns = rows.tocsc()
        terms = np.flatnonzero(np.diff(columns.indptr))
        indptr = np.append(columns.indptr[terms], columns.nnz)
        matrix = sp.csr_matrix(
            (columns.data, columns.indices, indptr), shape=(len(terms), rows.shape[0])
        )
        return cls(first, terms.astype(np.int32), matrix)

    @classmethod
    def _sorted(cls, first: int, n_docs: int, terms: I32, docs: I64, weights: F32) -> Segment:
        """From postings sorted by term (then document, numbered from 0)."""
        starts = np.flatnonzero(np.r_[True, terms[1:] != terms[:-1]]) if len(terms) else terms
        indptr = np.append(starts, len(terms))
        shape = (len(starts), n_docs)
        matrix = sp.csr_matrix((weights, docs.astype(np.int32), indptr), shape=shape)
        return cls(first, terms[starts].astype(np.int32), matrix)

    def rows_of(self, ids: I64) -> I64:
        """The row of each of these terms, -1 where it does not occur here."""
        if not len(self.terms):
            return np.full(len(ids), -1, dtype=np.int64)
        if self.terms[-1] == len(self.terms) - 1:  # every term from 0 (a bulk load): row = id
            return np.where(ids < len(self.terms), ids, -1)
        ids = ids.astype(self.terms.dtype)  # else searchsorted converts all the terms
        at = np.searchsorted(self.terms, ids).clip(0, len(self.terms) - 1)
        return np.where(self.terms[at] == ids, at, -1)


def merge(segments: list[Segment], keep: npt.NDArray[np.bool_] | None = None) -> Segment:
    """One segment from neighbouring ones (in slot order). With ``keep`` (per slot), only the
    documents it marks stay, renumbered from the first segment's first slot."""
    first, n_docs = segments[0].first, sum(s.n_docs for s in segments)
    terms = np.concatenate([np.repeat(s.terms, np.diff(s.matrix.indptr)) for s in segments])
    docs = np.concatenate([s.matrix.indices + (s.first - first) for s in segments])
    weights = np.concatenate([s.matrix.data for s in segments])
    if keep is not None:
        span = keep[first : first + n_docs]
        live = span[docs]
        terms, docs, weights = terms[live], (np.cumsum(span) - 1)[docs[live]], weights[live]
        n_docs = int(span.sum())
    order = np.argsort(terms, kind="stable")  # stable: within a term, slots stay ascending
    return Segment._sorted(first, n_docs, terms[order], docs[order], weights[order])
