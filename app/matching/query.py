"""A query's terms and weights, which of them score, and explanations by query word.

A query is counted like a document, in plain Python: a search adds nothing to the vocabulary.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain, repeat

import numpy as np
import numpy.typing as npt

from app.matching.features import FIELD_WEIGHTS
from app.matching.scoring import MatchConfig, bm25_idf, bm25_tf, query_tf
from app.matching.vocabulary import (
    BIGRAM,
    BIGRAM_MARK,
    CHAR,
    CHAR_MARK,
    Vocabulary,
    inner_bigrams,
    is_han,
)

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class QueryTerms:
    """The distinct terms of a query: their key (``query_terms``), view, id (-1 if the index
    has never seen them) and count; the query's length per view."""

    words: list[str]
    keys: list[str]
    ids: I64
    views: I64
    tf: F64
    tokens: Mapping[str, list[str]]  # as given (explanations read the pairs across words)
    lengths: F64


@lru_cache(maxsize=100_000)
def _inside(token: str) -> tuple[str, ...]:
    """The bigrams and characters inside a word, as marked keys, as often as they occur."""
    bigrams = [BIGRAM_MARK + pair for pair in inner_bigrams(token)]
    return (*bigrams, *(CHAR_MARK + ch for ch in token if is_han(ch)))


def _pairs(items: list[str]) -> list[tuple[str, int]]:
    """The bigrams across adjacent words, as marked keys, with the left word's position."""
    ends = [(t[0], t[-1]) if t else ("", "") for t in items]
    return [
        (BIGRAM_MARK + ends[i][1] + ends[i + 1][0], i)
        for i in range(len(ends) - 1)
        if is_han(ends[i][1]) and is_han(ends[i + 1][0])
    ]


def query_terms(tokens: Mapping[str, list[str]], vocab: Vocabulary) -> QueryTerms | None:
    """The query's terms, counted as ``Vocabulary.encode`` counts a document's."""
    amounts: dict[str, float] = {}  # words
    pairs: dict[str, float] = {}  # bigrams across two adjacent words
    for field, items in tokens.items():
        weight = FIELD_WEIGHTS.get(field, 1.0)
        for token, n in Counter(items).items():
            amounts[token] = amounts.get(token, 0.0) + n * weight
        for pair, n in Counter(key for key, _ in _pairs(items)).items():
            pairs[pair] = pairs.get(pair, 0.0) + n * weight
    if not amounts:
        return None
    words = list(amounts)
    # Terms are keyed as the vocabulary keys them: a word as itself, a character after
    # CHAR_MARK, a bigram after BIGRAM_MARK (a word never starts with either).
    counts = dict(amounts)
    by_amount: dict[float, list[str]] = {}
    for word, amount in amounts.items():
        by_amount.setdefault(amount, []).append(word)
    for amount, group in by_amount.items():  # most words share an amount: count in bulk
        for key, n in Counter(chain.from_iterable(map(_inside, group))).items():
            counts[key] = counts.get(key, 0.0) + n * amount
    for pair, amount in pairs.items():
        counts[pair] = counts.get(pair, 0.0) + amount
    keys = list(counts)
    views = np.zeros(len(keys), dtype=np.int64)
    rest = keys[len(words) :]
    # The marked keys as code points (mark, character, character or 0), vectorised.
    marks = np.array(rest, dtype="<U3").view(np.uint32).reshape(len(rest), 3).astype(np.int64)
    is_pair = marks[:, 0] == ord(BIGRAM_MARK)
    views[len(words) :] = np.where(is_pair, BIGRAM, CHAR)
    ids = np.empty(len(keys), dtype=np.int64)
    is_bigram = views == BIGRAM
    named = words + [rest[i] for i in np.flatnonzero(~is_pair).tolist()]
    ids[~is_bigram] = np.fromiter(map(vocab.ids.get, named, repeat(-1)), np.int64, len(named))
    ids[is_bigram] = vocab.bigrams.get(marks[is_pair, 1] << 21 | marks[is_pair, 2])
    tf = np.fromiter(counts.values(), np.float64, len(counts))
    lengths = np.bincount(views, weights=tf, minlength=3).astype(np.float64)
    return QueryTerms(words, keys, ids, views, tf, tokens, lengths)


def sources(query: QueryTerms, terms: I64) -> tuple[I64, I64]:
    """Which query words each of these terms comes from, as (index in ``terms``, index in
    ``query.words``) pairs: a word itself, the words a bigram or character is inside, the
    two words a bigram across words joins."""
    position = {word: i for i, word in enumerate(query.words)}
    wanted = {query.keys[t]: row for row, t in enumerate(terms.tolist())}
    found: dict[tuple[int, int], None] = {}
    for word, i in position.items():
        for key in (word, *_inside(word)):
            if key in wanted:
                found[wanted[key], i] = None
    for items in query.tokens.values():
        for key, left in _pairs(items):
            if key in wanted:
                found[wanted[key], position[items[left]]] = None
                found[wanted[key], position[items[left + 1]]] = None
    pairs = np.array(list(found), dtype=np.int64).reshape(-1, 2)
    return pairs[:, 0], pairs[:, 1]


@dataclass(frozen=True)
class Weighted:
    """The terms that score documents (positions in ``QueryTerms``) and their weights, and
    the score of a document identical to the query."""

    scoring: I64
    weights: F64
    self_score: float


def weigh(
    query: QueryTerms, df: I64, n_docs: int, averages: F64, config: MatchConfig
) -> Weighted | None:
    """Weights (query count x IDF x view weight). Of the terms the index holds, the
    ``terms_per_view`` heaviest of each view score documents (ties by text); the self score
    also counts the terms the index has never seen: they match nothing, so a query with much
    new content scores low whatever the index's size."""
    idf = bm25_idf(df, n_docs + config.idf_prior_docs)
    weights = query_tf(query.tf) * idf * np.asarray(config.view_weights)[query.views]
    held = np.flatnonzero(df > 0)
    keep = config.terms_per_view
    if keep is not None and len(held) > keep:
        chosen = []
        for view in range(3):
            mine = held[query.views[held] == view]
            if len(mine) > keep:  # the heaviest; the text decides only between equal weights
                mine_weights = weights[mine]
                kth = np.partition(mine_weights, len(mine) - keep)[len(mine) - keep]
                above = mine[mine_weights > kth]
                tied = sorted(mine[mine_weights == kth].tolist(), key=query.keys.__getitem__)
                mine = np.concatenate([above, np.array(tied[: keep - len(above)], np.int64)])
            chosen.append(mine)
        held = np.sort(np.concatenate(chosen))
    if not len(held):
        return None
    held = held[np.argsort(query.views[held], kind="stable")]  # words, bigrams, characters
    counted = np.union1d(held, np.flatnonzero(df == 0))
    ratio = query.lengths[query.views[counted]] / averages[query.views[counted]]
    self_score = float(np.dot(weights[counted], bm25_tf(query.tf[counted], ratio, config)))
    return Weighted(held, weights[held], max(self_score, 1e-12))


def explain(
    query: QueryTerms, scoring: I64, contributions: F64, top: int
) -> list[list[tuple[str, float]]]:
    """Per document (a row of per-scoring-term ``contributions``), the ``top`` query words
    behind its score with their shares of it, largest first; a term that comes from several
    words (a bigram across two, a character of several) is split evenly between them."""
    rows, words = sources(query, scoring)
    share = 1.0 / np.bincount(rows, minlength=len(scoring))[rows]
    n_words = len(query.words)
    cells = (np.arange(len(contributions))[:, None] * n_words + words).ravel()
    by_word = np.bincount(
        cells, (contributions[:, rows] * share).ravel(), n_words * len(contributions)
    )
    by_word = by_word.reshape(len(contributions), n_words)
    totals = contributions.sum(axis=1)
    out = []
    for row, best in enumerate(np.argsort(-by_word, axis=1, kind="stable")[:, :top].tolist()):
        ranked = sorted((-by_word[row, i], query.words[i]) for i in best if by_word[row, i] > 0)
        out.append([(word, round(float(-value / totals[row]), 4)) for value, word in ranked])
    return out
