"""Query weighting, top-k retrieval over the segments, and per-term explanations.

Base retrieval is exact but avoids reading most postings (a two-phase "max-score" plan):
the rarest query terms are accumulated densely; the common terms, whose postings are long
but whose IDF is low, are then looked up only for the documents that can still enter the
top ``limit`` given the common terms' largest possible contribution.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from app.matching.scoring import bm25_idf, bm25_tf
from app.matching.store import Vocabulary, doc_features

if TYPE_CHECKING:
    from app.matching.index import MatchIndex
    from app.matching.segments import BaseSegment, DeltaSegment

I32 = npt.NDArray[np.int32]
F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
Accept = Callable[[int], bool] | None
Hit = tuple[float, int]

# Postings read densely before the common terms are pruned (tuned with app.matching.bench).
DENSE_BUDGET = 60_000


@dataclass(frozen=True)
class Query:
    ids: I32  # term ids, ascending
    weights: F32  # query weight x IDF x view weight
    is_bigram: npt.NDArray[np.bool_]
    names: list[list[str]]  # the query words each term stands for
    self_score: float


def build_query(
    tokens: Mapping[str, list[str]],
    vocab: Vocabulary,
    df: npt.NDArray[np.int64],
    n_docs: int,
    index: MatchIndex,
) -> Query | None:
    features, sources = doc_features(tokens, vocab, add=False)
    if not len(features.ids) or n_docs == 0:
        return None
    term_df = df[features.ids]
    keep = term_df > 0
    ids, tf, term_df = features.ids[keep], features.tf[keep], term_df[keep]
    if not len(ids):
        return None
    is_bigram = index.bigram_flags()[ids]
    config = index.config
    qtf = np.where(tf >= 1.0, 1.0 + np.log(np.maximum(tf, 1.0)), tf).astype(np.float32)
    view = np.where(is_bigram, config.bigram_weight, 1.0).astype(np.float32)
    weights = (qtf * bm25_idf(term_df, n_docs) * view).astype(np.float32)
    avg_word, avg_bigram = index.averages()
    ratio = np.where(
        is_bigram,
        features.bigram_length / max(avg_bigram, 1e-6),
        features.word_length / max(avg_word, 1e-6),
    ).astype(np.float32)
    if len(ids) > config.max_query_terms:
        keep_top = np.sort(np.argsort(-weights, kind="stable")[: config.max_query_terms])
        ids, tf, weights = ids[keep_top], tf[keep_top], weights[keep_top]
        is_bigram, ratio = is_bigram[keep_top], ratio[keep_top]
    self_score = float(np.dot(weights, bm25_tf(tf, ratio, config)))
    names = [
        sources.get(term, []) if flag else [vocab.terms[term]]
        for term, flag in zip(ids.tolist(), is_bigram.tolist(), strict=True)
    ]
    return Query(ids, weights, is_bigram, names, max(self_score, 1e-9))


def _top(scores: F64, docs: I32, limit: int, accept: Accept) -> list[Hit]:
    """The best ``limit`` (score, doc) pairs among unique docs with a positive score."""
    if not len(docs):
        return []
    out: list[Hit] = []
    want = limit if accept is None else max(4 * limit, 64)
    while True:
        if want < len(docs):
            part = np.argpartition(-scores, want)[:want]
        else:
            part = np.arange(len(docs))
        part = part[np.lexsort((docs[part], -scores[part]))]
        out = []
        for i in part.tolist():
            score = float(scores[i])
            if score <= 0.0:
                break
            doc = int(docs[i])
            if accept is None or accept(doc):
                out.append((score, doc))
                if len(out) == limit:
                    return out
        if want >= len(docs) or (len(part) and scores[part[-1]] <= 0.0):
            return out
        want *= 4


def _accumulate(docs: I32, values: F32, size: int) -> F64:
    """Dense per-document sums: bincount is several times faster than np.add.at."""
    out: F64 = np.bincount(docs, weights=values, minlength=size).astype(np.float64, copy=False)
    return out


def _gather(base: BaseSegment, terms: list[int], weights: list[float]) -> tuple[I32, F32]:
    docs: list[I32] = []
    values: list[F32] = []
    for term, weight in zip(terms, weights, strict=True):
        post_docs, post_weights = base.postings(term)
        docs.append(post_docs)
        values.append(post_weights * np.float32(weight))
    if not docs:
        return np.zeros(0, np.int32), np.zeros(0, np.float32)
    return np.concatenate(docs), np.concatenate(values)


def search_base(
    base: BaseSegment, query: Query, limit: int, accept: Accept, dead: set[int]
) -> list[Hit]:
    if base.n_docs == 0:
        return []
    in_base = query.ids < base.n_terms
    ids, weights = query.ids[in_base], query.weights[in_base]
    lengths = base.term_indptr[ids + 1] - base.term_indptr[ids]
    order = np.argsort(lengths, kind="stable")
    cumulative = np.cumsum(lengths[order])
    n_dense = max(1, int(np.searchsorted(cumulative, DENSE_BUDGET, side="right")))
    dense, common = order[:n_dense], order[n_dense:]
    post_docs, post_values = _gather(base, ids[dense].tolist(), weights[dense].tolist())
    partial = _accumulate(post_docs, post_values, base.n_docs)
    if dead:
        partial[np.fromiter(dead, dtype=np.int64, count=len(dead))] = 0.0
    touched = np.flatnonzero(partial).astype(np.int32)
    if not len(common):
        return _top(partial[touched], touched, limit, accept)
    bound = float(np.dot(weights[common], base.max_weight[ids[common]]))
    leaders = _top(partial[touched], touched, limit, accept)
    threshold = leaders[-1][0] if len(leaders) == limit else 0.0
    if threshold - bound <= 0.0:
        # No pruning possible: score every posting of every query term.
        post_docs, post_values = _gather(base, ids.tolist(), weights.tolist())
        scores = _accumulate(post_docs, post_values, base.n_docs)
        if dead:
            scores[np.fromiter(dead, dtype=np.int64, count=len(dead))] = 0.0
        touched = np.flatnonzero(scores).astype(np.int32)
        return _top(scores[touched], touched, limit, accept)
    candidates = touched[partial[touched] > threshold - bound]
    scores = partial[candidates]
    for term, weight in zip(ids[common].tolist(), weights[common].tolist(), strict=True):
        term_docs, term_weights = base.postings(term)
        pos = np.searchsorted(term_docs, candidates)
        pos[pos >= len(term_docs)] = 0
        hit = term_docs[pos] == candidates
        scores[hit] += weight * term_weights[pos[hit]]
    return _top(scores, candidates.astype(np.int32), limit, accept)


def search_delta(
    delta: DeltaSegment,
    query: Query,
    limit: int,
    accept: Accept,
    alive: npt.NDArray[np.bool_],
    index: MatchIndex,
) -> list[Hit]:
    """Exact scoring of the (small) delta: BM25 weights computed from stored counts."""
    if not len(delta):
        return []
    first, span = delta.first_doc, delta.next_doc - delta.first_doc
    averages = index.averages()
    lengths = (
        np.array(delta.word_lengths, dtype=np.float32) / max(averages[0], 1e-6),
        np.array(delta.bigram_lengths, dtype=np.float32) / max(averages[1], 1e-6),
    )
    all_docs: list[I32] = []
    all_values: list[F32] = []
    for term, weight, flag in zip(
        query.ids.tolist(), query.weights.tolist(), query.is_bigram.tolist(), strict=True
    ):
        postings = delta.postings(term)
        if postings is None:
            continue
        docs, tf = postings
        docs = docs - first
        ratio = lengths[1 if flag else 0][docs]
        all_docs.append(docs)
        all_values.append(bm25_tf(tf, ratio, index.config) * np.float32(weight))
    if not all_docs:
        return []
    docs = np.concatenate(all_docs)
    scores = _accumulate(docs, np.concatenate(all_values), span)
    scores[~alive[first : first + span]] = 0.0
    touched = np.flatnonzero(scores).astype(np.int32)
    return _top(scores[touched], touched + first, limit, accept)


def explain(query: Query, doc: tuple[I32, F32], top: int) -> list[tuple[str, float]]:
    """The query words behind a document's score, with their shares of it."""
    doc_ids, doc_weights = doc
    pos = np.searchsorted(doc_ids, query.ids)
    pos[pos >= len(doc_ids)] = 0
    found = doc_ids[pos] == query.ids if len(doc_ids) else np.zeros(len(pos), np.bool_)
    q_pos, d_pos = np.flatnonzero(found), pos[found]
    if not len(q_pos):
        return []
    contributions = query.weights[q_pos] * doc_weights[d_pos]
    total = float(contributions.sum())
    by_word: dict[str, float] = {}
    for i, value in zip(q_pos.tolist(), contributions.tolist(), strict=True):
        words = query.names[i]
        for word in words:
            by_word[word] = by_word.get(word, 0.0) + value / len(words)
    ranked = sorted(by_word.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return [(word, round(value / total, 4)) for word, value in ranked]
