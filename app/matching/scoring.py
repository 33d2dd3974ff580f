"""The one shipped ranking configuration and the BM25 arithmetic shared by index and tools."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from app.matching.features import BIGRAM_WEIGHT, CHAR_WEIGHT

F32 = npt.NDArray[np.float32]

WORD, BIGRAM, CHAR = 0, 1, 2  # the three views of a document
VIEWS = (WORD, BIGRAM, CHAR)


@dataclass(frozen=True)
class MatchConfig:
    """BM25 over three views of a document (words, character bigrams, characters), summed.

    ``k1`` saturates repeated terms, ``b`` normalises by document length, per view. The
    bigram and character views' scores are multiplied by their weights. Candidates are the
    documents sharing a word or a bigram with the query, ranked by those two views; the best
    ``candidates`` of them are scored exactly with all three views. Measured in
    docs/matching.md.
    """

    k1: float = 1.2
    b: float = 0.75
    bigram_weight: float = BIGRAM_WEIGHT
    char_weight: float = CHAR_WEIGHT
    explain_terms: int = 8
    # IDF is computed as if the index also held this many documents sharing no term with
    # the query: in a tiny index every term of a document is "common" (df = N) and its IDF
    # collapses, which would make scores depend on the index's size. Ranking in a large
    # index is unchanged (measured in docs/matching.md).
    idf_prior_docs: int = 100
    # Documents rescored exactly per query: max(candidates, candidates_per_result x limit).
    candidates: int = 30
    candidates_per_result: int = 4
    # Postings read per query to find candidates (split between the segments, see
    # ``budget``); the rarest (highest-bound) query terms are read first. Short queries read
    # all their postings (exact); see docs/matching.md for the effect on long queries.
    postings_budget: int = 200_000
    postings_budget_per_doc: float = 10.0

    def budget(self, documents: int, total: int) -> int:
        """Postings a segment of ``documents`` (of ``total`` in the index) reads per query:
        its share of ``postings_budget``, or ``postings_budget_per_doc`` a document if that
        is more. So a small index reads everything, whichever segments hold it, and a small
        delta beside a large base reads no more per document than the base."""
        share = self.postings_budget * min(1.0, documents / max(total, 1))
        return int(max(share, self.postings_budget_per_doc * documents))

    def view_weights(self) -> F32:
        return np.array([1.0, self.bigram_weight, self.char_weight], dtype=np.float32)


DEFAULT_CONFIG = MatchConfig()


def bm25_idf(df: npt.NDArray[np.int64] | npt.NDArray[np.int32], n_docs: int) -> F32:
    """Robertson-Sparck Jones IDF, kept positive (the +1 inside the log)."""
    df64 = np.asarray(df).astype(np.float64)
    return np.log1p((n_docs - df64 + 0.5) / (df64 + 0.5)).astype(np.float32)


def bm25_tf(tf: F32, length_ratio: F32, config: MatchConfig) -> F32:
    """The document side of BM25: saturated term frequency, length-normalised."""
    k1, b = config.k1, config.b
    return (tf * (k1 + 1.0) / (tf + k1 * (1.0 - b + b * length_ratio))).astype(np.float32)


def query_tf(tf: F32) -> F32:
    """Sublinear query term frequency: a term repeated in a long query counts, but less."""
    return np.where(tf >= 1.0, 1.0 + np.log(np.maximum(tf, 1.0)), tf).astype(np.float32)
