"""Index segments: a large immutable term-major base and a small append-only delta.

The base is a CSR matrix whose rows are terms: a query reads only its own terms' postings
(document ids sorted, BM25 document weights in float32). New and edited documents go to the
delta, whose postings are stdlib arrays appended in place, so a write costs microseconds.
"""

from __future__ import annotations

from array import array

import numpy as np
import numpy.typing as npt

from app.matching.scoring import MatchConfig, bm25_tf
from app.matching.store import DocFeatures

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]


class BaseSegment:
    """Documents 0..n-1, doc-major (for explanations and deletes) and term-major (for search)."""

    def __init__(
        self,
        docs: list[DocFeatures],
        bigram_flags: npt.NDArray[np.bool_],
        config: MatchConfig,
        averages: tuple[float, float],
    ) -> None:
        n_terms = len(bigram_flags)
        self.n_docs = len(docs)
        self.n_terms = n_terms
        self.averages = averages
        lengths = np.fromiter((len(d.ids) for d in docs), dtype=np.int64, count=len(docs))
        self.doc_indptr = np.zeros(len(docs) + 1, dtype=np.int64)
        np.cumsum(lengths, out=self.doc_indptr[1:])
        if docs:
            self.doc_terms: I32 = np.concatenate([d.ids for d in docs]).astype(np.int32)
            self.doc_tf: F32 = np.concatenate([d.tf for d in docs]).astype(np.float32)
        else:
            self.doc_terms = np.zeros(0, dtype=np.int32)
            self.doc_tf = np.zeros(0, dtype=np.float32)
        word_len = np.fromiter((d.word_length for d in docs), dtype=np.float32, count=len(docs))
        bigram_len = np.fromiter((d.bigram_length for d in docs), dtype=np.float32, count=len(docs))
        self.weights = document_weights(
            self.doc_terms,
            self.doc_tf,
            self.doc_indptr,
            word_len,
            bigram_len,
            bigram_flags,
            config,
            averages,
        )
        # Transpose to term-major with a stable sort, so each term's doc ids stay ascending.
        doc_of_entry = np.repeat(np.arange(len(docs), dtype=np.int32), lengths)
        order = np.argsort(self.doc_terms, kind="stable")
        self.post_docs: I32 = doc_of_entry[order]
        self.post_weights: F32 = self.weights[order]
        counts = np.bincount(self.doc_terms, minlength=n_terms)[:n_terms]
        self.term_indptr = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(counts, out=self.term_indptr[1:])
        self.max_weight = np.zeros(n_terms, dtype=np.float32)
        nonempty = counts > 0
        if nonempty.any():
            starts = self.term_indptr[:-1][nonempty]
            self.max_weight[nonempty] = np.maximum.reduceat(self.post_weights, starts)

    def doc_row(self, doc: int) -> tuple[I32, F32]:
        start, end = self.doc_indptr[doc], self.doc_indptr[doc + 1]
        return self.doc_terms[start:end], self.weights[start:end]

    def postings(self, term: int) -> tuple[I32, F32]:
        if term >= self.n_terms:
            return self.post_docs[:0], self.post_weights[:0]
        start, end = self.term_indptr[term], self.term_indptr[term + 1]
        return self.post_docs[start:end], self.post_weights[start:end]

    def nbytes(self) -> int:
        arrays = (
            self.doc_indptr,
            self.doc_terms,
            self.doc_tf,
            self.weights,
            self.post_docs,
            self.post_weights,
            self.term_indptr,
            self.max_weight,
        )
        return int(sum(a.nbytes for a in arrays))


def document_weights(
    terms: I32,
    tf: F32,
    indptr: I64,
    word_len: F32,
    bigram_len: F32,
    bigram_flags: npt.NDArray[np.bool_],
    config: MatchConfig,
    averages: tuple[float, float],
) -> F32:
    """BM25 document weights of every (doc, term) entry, each view with its own length."""
    lengths = np.diff(indptr)
    is_bigram = bigram_flags[terms]
    ratio_word = np.repeat(word_len / max(averages[0], 1e-6), lengths)
    ratio_bigram = np.repeat(bigram_len / max(averages[1], 1e-6), lengths)
    ratio = np.where(is_bigram, ratio_bigram, ratio_word).astype(np.float32)
    return bm25_tf(tf, ratio, config)


class DeltaSegment:
    """Documents added since the base was built, ids base_n.., postings appended in place."""

    def __init__(self, first_doc: int) -> None:
        self.first_doc = first_doc
        self.docs: dict[int, DocFeatures] = {}
        self.next_doc = first_doc
        self._postings: dict[int, tuple[array[int], array[float]]] = {}
        self.word_lengths: array[float] = array("f")
        self.bigram_lengths: array[float] = array("f")

    def __len__(self) -> int:
        return len(self.docs)

    def add(self, doc: int, features: DocFeatures) -> None:
        self.docs[doc] = features
        self.next_doc = doc + 1
        self.word_lengths.append(features.word_length)
        self.bigram_lengths.append(features.bigram_length)
        postings = self._postings
        for term, count in zip(features.ids.tolist(), features.tf.tolist(), strict=True):
            entry = postings.get(term)
            if entry is None:
                entry = postings[term] = (array("i"), array("f"))
            entry[0].append(doc)
            entry[1].append(count)

    def postings(self, term: int) -> tuple[I32, F32] | None:
        entry = self._postings.get(term)
        if entry is None:
            return None
        # Copies: a live view would forbid the next append.
        return np.array(entry[0], dtype=np.int32), np.array(entry[1], dtype=np.float32)
