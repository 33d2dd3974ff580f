"""The one shipped ranking configuration and the BM25 arithmetic."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class MatchConfig:
    """BM25 per view (words, character bigrams, characters), summed with ``view_weights``;
    textbook k1 and b. Each setting's reason and measurement: docs/matching.md."""

    k1: float = 1.2
    b: float = 0.75
    # A shared character says less than a shared word (results flat between 0.3 and 1.0).
    view_weights: tuple[float, float, float] = (1.0, 0.5, 0.5)
    # IDF as if this many more documents shared no query term: a tiny index's IDF collapses.
    idf_prior_docs: int = 100
    # A long query scores on its most informative terms, per view (Lucene's MoreLikeThis).
    terms_per_view: int | None = 64
    explain_terms: int = 8


DEFAULT_CONFIG = MatchConfig()


def bm25_idf(df: npt.NDArray[np.int64], n_docs: int) -> F64:
    """Robertson-Sparck Jones IDF, kept positive (the +1 inside the log)."""
    df64 = df.astype(np.float64)
    return np.log1p((n_docs - df64 + 0.5) / (df64 + 0.5))


def bm25_tf(tf: npt.NDArray[np.floating], length_ratio: F64, config: MatchConfig) -> F64:
    """The document side of BM25: saturated count, normalised by length / average length."""
    k1, b = config.k1, config.b
    tf64 = tf.astype(np.float64)
    return tf64 * (k1 + 1.0) / (tf64 + k1 * (1.0 - b + b * length_ratio))


def query_tf(tf: F64) -> F64:
    """Sublinear query count: a term repeated in a long query counts, but less."""
    return np.where(tf >= 1.0, 1.0 + np.log(np.maximum(tf, 1.0)), tf)
