"""A query's terms and weights, which of them score, and explanations by query word.

A query is counted like a document, vectorised over its characters' code points: a search adds
nothing to the vocabulary.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import repeat

import numpy as np
import numpy.typing as npt

from app.matching.features import FIELD_WEIGHTS
from app.matching.scoring import MatchConfig, bm25_idf, bm25_tf, query_tf
from app.matching.vocabulary import HAN_FIRST, HAN_LAST, Vocabulary

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
CHARS_AFTER = 1 << 40  # added to a character's code point: after every bigram code


@dataclass(frozen=True)
class QueryTerms:
    """The distinct terms of a query: words, bigrams, then characters, each view in the order
    of its terms' text (``words`` too). Per term: view, code (a word's position in ``words``,
    a bigram's ``left << 21 | right``, a character's code point), id (-1 if the index has never
    seen it) and count; the query's length per view; and which words each term comes from, as
    (term, word) pairs, repeated as often as they occur: a word itself, the words a bigram or
    character is inside, the two words a bigram across words joins."""

    words: list[str]
    views: I64
    codes: I64
    ids: I64
    tf: F64
    lengths: F64
    sources: tuple[I64, I64]


def query_terms(tokens: Mapping[str, list[str]], vocab: Vocabulary) -> QueryTerms | None:
    """The query's terms, counted as ``Vocabulary.encode`` counts a document's."""
    fields = [(FIELD_WEIGHTS.get(field, 1.0), items) for field, items in tokens.items() if items]
    flat = [token for _, items in fields for token in items]
    if not flat:
        return None
    words = sorted(set(flat))  # in the order of their text (ties in scoring and explanations)
    word = np.fromiter(map({w: i for i, w in enumerate(words)}.__getitem__, flat), np.int64)
    field = np.repeat(np.arange(len(fields)), [len(items) for _, items in fields])
    weight = np.array([weight for weight, _ in fields])[field]
    size = np.fromiter(map(len, flat), np.int64, len(flat))
    text = np.frombuffer("".join(flat).encode("utf-32-le"), np.uint32).astype(np.int64)
    token = np.repeat(np.arange(len(flat)), size)  # of each character
    han = (text >= HAN_FIRST) & (text <= HAN_LAST)
    inner = np.flatnonzero(han[:-1] & han[1:] & (token[:-1] == token[1:]))
    end = np.cumsum(size) - 1  # each token's last character
    # A bigram across two adjacent words of one field: the first's last character, the next's
    # first (its own last character's successor).
    across = np.flatnonzero((field[:-1] == field[1:]) & (size[:-1] > 0) & (size[1:] > 0))
    across = across[han[end[across]] & han[end[across] + 1]]
    left = np.concatenate([inner, end[across]])
    chars = np.flatnonzero(han)
    # Every occurrence of a bigram or a character, with the token it counts in, in one sort:
    # a bigram's code is left << 21 | right (< 2 ** 37), a character's is offset to follow them.
    code = np.concatenate([text[left] << 21 | text[left + 1], text[chars] + CHARS_AFTER])
    owner = np.concatenate([token[inner], across, token[chars]])
    distinct, of = np.unique(code, return_inverse=True)
    split = int(np.searchsorted(distinct, CHARS_AFTER))
    codes = [np.arange(len(words)), distinct[:split], distinct[split:] - CHARS_AFTER]
    of = of.ravel() + len(words)  # term positions after the words
    ids = [
        np.fromiter(map(vocab.ids.get, words, repeat(-1)), np.int64, len(words)),
        vocab.bigrams.get(codes[1]),
        vocab.chars[codes[2] - HAN_FIRST],
    ]
    views = np.repeat(np.arange(3), [len(c) for c in codes])
    terms = np.concatenate([word, of])
    weights = np.concatenate([weight, weight[owner]])
    tf = np.bincount(terms, weights, len(words) + len(distinct)).astype(np.float64, copy=False)
    # (term, word) links, repeated as often as they occur; a bigram across words has two.
    bigrams_across = of[len(inner) : len(left)]
    sources = (
        np.concatenate([terms, bigrams_across]),
        np.concatenate([word, word[owner], word[across + 1]]),
    )
    lengths = np.bincount(views, tf, 3).astype(np.float64, copy=False)
    return QueryTerms(
        words, views, np.concatenate(codes), np.concatenate(ids), tf, lengths, sources
    )


@dataclass(frozen=True)
class Weighted:
    """The terms that score documents (positions in ``QueryTerms``, in view order) and their
    weights, and the score of a document identical to the query."""

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
    if not len(held):
        return None
    if config.terms_per_view is not None:
        # By view, heaviest first; a stable sort: equal weights stay in the order of their text.
        held = held[np.lexsort((-weights[held], query.views[held]))]
        rank = np.arange(len(held)) - np.searchsorted(query.views[held], query.views[held])
        held = held[rank < config.terms_per_view]
    counted = np.concatenate([held, np.flatnonzero(df == 0)])
    ratio = query.lengths[query.views[counted]] / averages[query.views[counted]]
    self_score = float(np.dot(weights[counted], bm25_tf(query.tf[counted], ratio, config)))
    return Weighted(held, weights[held], max(self_score, 1e-12))


def explain(
    query: QueryTerms, scoring: I64, contributions: F64, top: int
) -> list[list[tuple[str, float]]]:
    """Per document (a row of per-scoring-term ``contributions``), the ``top`` query words
    behind its score with their shares of it, largest first (ties by text); a term that comes
    from several words (a bigram across two, a character of several) is split evenly between
    them."""
    position = np.full(len(query.ids), -1)
    position[scoring] = np.arange(len(scoring))
    rows = position[query.sources[0]]
    links = np.zeros((len(scoring), len(query.words)))  # scoring term x word: its share
    links[rows[rows >= 0], query.sources[1][rows >= 0]] = 1.0
    by_word = (contributions * (1.0 / links.sum(axis=1))) @ links
    order = np.argsort(-by_word, axis=1, kind="stable")[:, :top]  # words are in text order
    values = np.take_along_axis(by_word, order, axis=1)
    shares = (values / contributions.sum(axis=1, keepdims=True)).tolist()
    words = query.words
    return [
        [(words[w], round(s, 4)) for w, s in zip(ws, ss, strict=True) if s > 0]
        for ws, ss in zip(order.tolist(), shares, strict=True)
    ]
