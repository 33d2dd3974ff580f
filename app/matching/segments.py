"""Index segments: a large immutable base and small append-only deltas.

The base keeps each document's *primary* features doc-major (word ids and the bigrams across
words, with counts: for rescoring, explanations and merges) and a term-major CSR of the BM25
weights of the word and bigram views (for finding candidates: a query reads only its own
terms' postings). Documents are identified by *slots*, stable numbers that the index reuses;
a base covers some slots and is never modified: deletes are tombstones kept by the index.
"""

from __future__ import annotations

from array import array

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from app.matching.scoring import BIGRAM, CHAR, WORD, MatchConfig, bm25_tf
from app.matching.store import DocFeatures

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]
F16 = npt.NDArray[np.float16]
Table = tuple[int, I64, I32, npt.NDArray[np.uint8], I32, I32]

CHUNK = 32_768  # documents expanded at once while building (bounds the build's memory)


def ranges(starts: I64, counts: I64) -> I64:
    """Concatenation of arange(start, start + count) for each pair, vectorised."""
    total = int(counts.sum())
    if not total:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(counts)
    shift = np.repeat(starts - (ends - counts), counts)
    out: I64 = shift + np.arange(total, dtype=np.int64)
    return out


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
        self.doc_indptr = primary.indptr.astype(np.int64)
        self.doc_terms: I32 = primary.indices.astype(np.int32)
        self.doc_tf: F32 = primary.data.astype(np.float32)
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
        rows = np.repeat(np.arange(self.n_slots), np.diff(self.doc_indptr))
        kind = self.kinds[self.doc_terms]
        tf = self.doc_tf.astype(np.float64)
        out = np.zeros((self.n_slots, 3), dtype=np.float32)
        words = kind == WORD
        out[:, WORD] = np.bincount(rows[words], weights=tf[words], minlength=self.n_slots)
        bigram = np.where(words, tf * n_bigram[self.doc_terms], tf)
        out[:, BIGRAM] = np.bincount(rows, weights=bigram, minlength=self.n_slots)
        out[:, CHAR] = np.bincount(rows, weights=tf * n_char[self.doc_terms], minlength=self.n_slots)
        return out

    def expand(self, slots: I64) -> tuple[I64, I32, F32]:
        """All features of these slots as (position in ``slots``, term, count) entries,
        not aggregated (a term may repeat within a document)."""
        starts, ends = self.doc_indptr[slots], self.doc_indptr[slots + 1]
        counts = ends - starts
        idx = ranges(starts, counts)
        rows = np.repeat(np.arange(len(slots), dtype=np.int64), counts)
        terms, tf = self.doc_terms[idx], self.doc_tf[idx]
        sub_counts = self.sub_indptr[terms + 1] - self.sub_indptr[terms]
        sub = self.sub_ids[ranges(self.sub_indptr[terms], sub_counts)]
        return (
            np.concatenate([rows, np.repeat(rows, sub_counts)]),
            np.concatenate([terms, sub]),
            np.concatenate([tf, np.repeat(tf, sub_counts)]),
        )

    def _build_postings(self) -> None:
        pieces: list[tuple[int, sp.csc_matrix]] = []
        present = np.flatnonzero(self.present)
        for lo in range(0, self.n_slots, CHUNK):
            slots = np.arange(lo, min(lo + CHUNK, self.n_slots), dtype=np.int64)
            slots = slots[self.present[slots]]
            rows, terms, tf = self.expand(slots)
            keep = self.kinds[terms] != CHAR
            rows, terms, tf = rows[keep], terms[keep], tf[keep]
            matrix = sp.csr_matrix(
                (tf.astype(np.float32), (slots[rows] - lo, terms)),
                shape=(min(CHUNK, self.n_slots - lo), self.n_terms),
            )
            matrix.sum_duplicates()
            coo = matrix.tocoo()
            view = self.kinds[coo.col]
            ratio = self.lengths[coo.row + lo, view] / self.averages[view]
            matrix = sp.csr_matrix(
                (bm25_tf(coo.data.astype(np.float32), ratio, self.config), (coo.row, coo.col)),
                shape=matrix.shape,
            )
            pieces.append((lo, matrix.tocsc()))
        del present
        counts = np.zeros(self.n_terms, dtype=np.int64)
        for _, piece in pieces:
            counts += np.diff(piece.indptr)
        self.term_indptr = np.zeros(self.n_terms + 1, dtype=np.int64)
        np.cumsum(counts, out=self.term_indptr[1:])
        total = int(self.term_indptr[-1])
        self.post_docs: I32 = np.zeros(total, dtype=np.int32)
        self.post_weights: F16 = np.zeros(total, dtype=np.float16)
        offset = self.term_indptr[:-1].copy()
        for lo, piece in pieces:
            piece_counts = np.diff(piece.indptr).astype(np.int64)
            dest = ranges(offset, piece_counts)
            self.post_docs[dest] = piece.indices + lo
            self.post_weights[dest] = piece.data
            offset += piece_counts
        self.max_weight = np.zeros(self.n_terms, dtype=np.float32)
        nonempty = counts > 0
        if nonempty.any():
            starts = self.term_indptr[:-1][nonempty]
            self.max_weight[nonempty] = np.maximum.reduceat(
                self.post_weights.astype(np.float32), starts
            )

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
            self.lengths,
            self.post_docs,
            self.post_weights,
            self.term_indptr,
            self.max_weight,
        )
        return int(sum(a.nbytes for a in arrays))


class DeltaSegment:
    """Documents written since the base was built; postings appended in place."""

    def __init__(self) -> None:
        self.rows: list[DocFeatures] = []
        self.slots: list[int] = []
        self.alive: list[bool] = []
        self._postings: dict[int, tuple[array[int], array[float]]] = {}
        self.lengths: list[F32] = []

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, slot: int, features: DocFeatures, kinds: bytearray) -> int:
        row = len(self.rows)
        self.rows.append(features)
        self.slots.append(slot)
        self.alive.append(True)
        self.lengths.append(features.lengths)
        postings = self._postings
        for term, count in zip(features.ids.tolist(), features.tf.tolist(), strict=True):
            if kinds[term] == CHAR:
                continue
            entry = postings.get(term)
            if entry is None:
                entry = postings[term] = (array("i"), array("f"))
            entry[0].append(row)
            entry[1].append(count)
        return row

    def postings(self, term: int) -> tuple[I32, F32] | None:
        entry = self._postings.get(term)
        if entry is None:
            return None
        # Copies: a live view would forbid the next append.
        return np.array(entry[0], dtype=np.int32), np.array(entry[1], dtype=np.float32)
