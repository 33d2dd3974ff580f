"""The one shipped ranking configuration and the BM25 arithmetic."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class MatchConfig:
    """BM25 per view (words, character bigrams, characters), summed with ``view_weights``.

    ``k1`` saturates repeated terms and ``b`` normalises by document length, per view;
    textbook values. Measured in docs/matching.md.
    """

    k1: float = 1.2
    b: float = 0.75
    # The character views help a query meet a paper that cuts or writes a term differently,
    # but a shared character says less than a shared word (flat between 0.3 and 1.0).
    view_weights: tuple[float, float, float] = (1.0, 0.5, 0.5)
    # IDF as if the index also held this many documents sharing no term with the query: in
    # a tiny index every term is "common" and its IDF would collapse, so scores would depend
    # on the index's size.
    idf_prior_docs: int = 100
    # A long query (a whole description, an organisation's documents) is scored on its most
    # informative terms, as Lucene's MoreLikeThis does: the ``terms_per_view`` of each view
    # with the largest weight. Short queries have fewer. None scores every term.
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
