"""The one shipped ranking configuration and the BM25 arithmetic shared by index and tools."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from app.matching.features import BIGRAM_PREFIX, BIGRAM_WEIGHT

F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class MatchConfig:
    """BM25 over two views of a document (words, character bigrams), summed.

    ``k1`` saturates repeated terms, ``b`` normalises by document length, per view. The
    bigram view's scores are multiplied by ``bigram_weight``. Measured in docs/matching.md.
    """

    k1: float = 1.2
    b: float = 0.75
    bigram_weight: float = BIGRAM_WEIGHT
    explain_terms: int = 8
    # A long query (a whole challenge text, an organisation's capabilities) keeps only its
    # heaviest terms (query weight x IDF): the dropped ones are common words that add
    # postings to read but little to the ranking.
    max_query_terms: int = 64


DEFAULT_CONFIG = MatchConfig()


def is_bigram(term: str) -> bool:
    return term.startswith(BIGRAM_PREFIX)


def bm25_idf(df: npt.NDArray[np.int64] | npt.NDArray[np.int32], n_docs: int) -> F32:
    """Robertson-Sparck Jones IDF, kept positive (the +1 inside the log)."""
    df64 = df.astype(np.float64)
    return np.log1p((n_docs - df64 + 0.5) / (df64 + 0.5)).astype(np.float32)


def bm25_tf(tf: F32, length_ratio: F32, config: MatchConfig) -> F32:
    """The document side of BM25: saturated term frequency, length-normalised."""
    k1, b = config.k1, config.b
    return (tf * (k1 + 1.0) / (tf + k1 * (1.0 - b + b * length_ratio))).astype(np.float32)


def query_weight(count: float) -> float:
    """Sublinear query term frequency: a term repeated in a long query counts, but less."""
    return 1.0 + float(np.log(count)) if count >= 1.0 else count
