"""Query weighting, candidate retrieval over the segments, exact rescoring and explanations.

Two stages. Candidates: the documents sharing a word or a bigram with the query, ranked by
those two views; in the base, the query terms' postings are read in decreasing order of their
largest possible contribution (query weight x the term's largest document weight) until a
postings budget is spent, so a short query reads everything and a long one skips the
postings of its most common terms. Rescoring: the best candidates get their exact score
from their stored features, over all three views and every query term.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

try:  # scipy's compiled kernel behind csc_matrix @ vector
    from scipy.sparse._sparsetools import csc_matvec as _csc_matvec
except ImportError:  # pragma: no cover - a scipy without it: the bincount path only
    _csc_matvec = None

from app.matching.scoring import BIGRAM, CHAR, MatchConfig, bm25_idf, bm25_tf, query_tf
from app.matching.segments import BaseSegment, DeltaSegment
from app.matching.store import Vocabulary, ranges, token_terms, weighted_tokens

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
Accept = Callable[[int], bool] | None


@dataclass(frozen=True)
class Query:
    ids: I32  # the query's terms present in the index, ascending
    weights: F32  # query weight x IDF x view weight
    views: I64
    words: list[str]  # the query's words
    origin_term: I64  # (position in ids, index in words): which words each term comes from
    origin_word: I64
    self_score: float  # the score of a document identical to the query (every term counts)


def build_query(
    tokens: Mapping[str, list[str]],
    vocab: Vocabulary,
    df: npt.NDArray[np.int32],
    n_docs: int,
    averages: F32,
    config: MatchConfig,
) -> Query | None:
    """The query's features (the same as ``term_counts`` gives a document), weighted.

    Known words are expanded to their bigrams and chars through the vocabulary's table
    (vectorised); only unknown words and the pairs across words are handled as text."""
    if n_docs == 0:
        return None
    weighted, pairs, pair_words = weighted_tokens(tokens)
    if not weighted:
        return None
    words = list(weighted)
    position = {w: i for i, w in enumerate(words)}
    amounts = np.fromiter(weighted.values(), dtype=np.float32, count=len(words))
    get = dict.get
    ids_map = vocab.ids
    word_ids = np.fromiter((get(ids_map, w, -1) for w in words), dtype=np.int64, count=len(words))
    _, sub_indptr, sub_ids, kinds, _, _ = vocab.table()
    unknown: dict[str, int] = {}

    def key_of(term: str) -> int:
        found = get(ids_map, term)
        if found is not None:
            return int(found)
        return -1 - unknown.setdefault(term, len(unknown))

    known = np.flatnonzero(word_ids >= 0)
    counts = sub_indptr[word_ids[known] + 1] - sub_indptr[word_ids[known]]
    subs = sub_ids[ranges(sub_indptr[word_ids[known]], counts)].astype(np.int64)
    keys = [word_ids[known], subs]
    views = [np.zeros(len(known), np.int64), kinds[subs].astype(np.int64)]
    values = [amounts[known], np.repeat(amounts[known], counts)]
    owners = [known, np.repeat(known, counts)]
    extra_keys: list[int] = []
    extra_views: list[int] = []
    extra_values: list[float] = []
    extra_owners: list[int] = []
    for i in np.flatnonzero(word_ids < 0).tolist():
        for term, view in token_terms(words[i]):
            extra_keys.append(key_of(term))
            extra_views.append(view)
            extra_values.append(float(amounts[i]))
            extra_owners.append(i)
    pair_list = list(pairs)
    pair_ids = np.fromiter(
        (get(ids_map, pair, -1) for pair in pair_list), dtype=np.int64, count=len(pair_list)
    )
    for i in np.flatnonzero(pair_ids < 0).tolist():  # pairs the index has never seen
        pair_ids[i] = key_of(pair_list[i])
    pair_keys = dict(zip(pair_list, pair_ids.tolist(), strict=True))
    keys.append(pair_ids)
    views.append(np.full(len(pair_list), BIGRAM, dtype=np.int64))
    values.append(np.fromiter(pairs.values(), dtype=np.float32, count=len(pair_list)))
    owners.append(np.full(len(pair_list), -1, dtype=np.int64))  # origins below: both words
    keys.append(np.array(extra_keys, dtype=np.int64))
    views.append(np.array(extra_views, dtype=np.int64))
    values.append(np.array(extra_values, dtype=np.float32))
    owners.append(np.array(extra_owners, dtype=np.int64))
    all_keys, all_views = np.concatenate(keys), np.concatenate(views)
    all_values = np.concatenate(values)
    terms, first, inverse = _unique(all_keys)
    tf = np.bincount(inverse, weights=all_values).astype(np.float32)
    term_views = all_views[first]
    lengths = np.bincount(all_views, weights=all_values, minlength=3).astype(np.float32)
    term_df = np.zeros(len(terms), dtype=np.int64)
    seen = (terms >= 0) & (terms < len(df))
    term_df[seen] = df[terms[seen]]
    # Terms the index has never seen have df 0 and the highest IDF: they count in the self
    # score, so a document sharing one common word with a long query scores low, and scores
    # from indexes of different sizes are comparable.
    idf = bm25_idf(term_df, n_docs + config.idf_prior_docs)
    weights = query_tf(tf) * idf * config.view_weights()[term_views]
    ratio = lengths[term_views] / averages[term_views]
    self_score = float(np.dot(weights, bm25_tf(tf, ratio, config)))
    present = np.flatnonzero(term_df > 0)  # ascending term ids (np.unique sorts)
    if not len(present):
        return None
    # Which query words each present term comes from (for explanations).
    all_owners = np.concatenate(owners)
    pair_origin = list(map(pair_keys.__getitem__, [p for p, _, _ in pair_words]))
    origin_keys = np.concatenate(
        [all_keys[all_owners >= 0], np.array(pair_origin * 2, dtype=np.int64)]
    )
    firsts = list(map(position.__getitem__, [a for _, a, _ in pair_words]))
    seconds = list(map(position.__getitem__, [b for _, _, b in pair_words]))
    origin_words = np.concatenate(
        [all_owners[all_owners >= 0], np.array(firsts + seconds, dtype=np.int64)]
    )
    present_ids = terms[present]
    slot = np.searchsorted(present_ids, origin_keys)
    slot[slot >= len(present_ids)] = 0
    hit = present_ids[slot] == origin_keys
    pairs_found = np.sort(slot[hit] * len(words) + origin_words[hit])
    if len(pairs_found):
        pairs_found = pairs_found[np.r_[True, pairs_found[1:] != pairs_found[:-1]]]
    return Query(
        present_ids.astype(np.int32),
        weights[present].astype(np.float32),
        term_views[present],
        words,
        pairs_found // len(words),
        pairs_found % len(words),
        max(self_score, 1e-9),
    )


def _unique(keys: I64) -> tuple[I64, I64, I64]:
    """``np.unique(keys, return_index=True, return_inverse=True)`` by one stable sort (numpy's
    hash-based unique costs ~0.4 ms on a query's ~1,500 keys; this ~30 us)."""
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    new = np.empty(len(keys), dtype=np.bool_)
    new[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    inverse = np.empty(len(keys), dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    return ordered[new], order[new], inverse


def _order(scores: F64, items: I64) -> I64:
    """``items`` with positive score, best first (ties: lower item first)."""
    keep = scores > 0
    scores, items = scores[keep], items[keep]
    out: I64 = items[np.lexsort((items, -scores))]
    return out


BLOCK = 64  # _best: block size of the pre-filter


def _best(scores: F64 | F32, want: int) -> I64:
    """The (at most) ``want`` best positions of a dense score array, best first.

    On a large array a pre-filter keeps only the entries at or above the ``want``-th largest
    of the block maxima (``want`` distinct entries are at least that large, so every entry of
    the true top ``want``, ties included, passes): one pass over the array instead of a
    selection over all of it."""
    if len(scores) >= BLOCK * want:
        blocks = scores[: len(scores) // BLOCK * BLOCK].reshape(-1, BLOCK).max(axis=1)
        floor = np.partition(blocks, len(blocks) - want)[len(blocks) - want]
        keep = np.flatnonzero(scores >= floor) if floor > 0 else np.flatnonzero(scores > 0)
        if len(keep) < len(scores):  # else (ties everywhere): the plain selection below
            return keep[_best(scores[keep], want)] if len(keep) else keep.astype(np.int64)
    if len(scores) > want:
        top = np.argpartition(scores, len(scores) - want)[len(scores) - want :]
        cut = scores[top].min()
        if cut > 0 and np.count_nonzero(scores >= cut) > want:  # ties at the cut: keep all
            top = np.flatnonzero(scores >= cut)
    else:
        top = np.arange(len(scores))
    return _order(scores[top].astype(np.float64), top.astype(np.int64))


def _take(ordered: I64, want: int, accept: Accept, slot_of: Callable[[int], int]) -> list[int]:
    if accept is None:
        return [int(i) for i in ordered[:want].tolist()]
    out: list[int] = []
    for item in ordered.tolist():
        if accept(slot_of(item)):
            out.append(item)
            if len(out) == want:
                break
    return out


INT32_MAX = np.iinfo(np.int32).max


def accumulate(base: BaseSegment, starts: I64, lengths: I64, weights: F32) -> F32:
    """Dense scores: sum over the terms of weight x the term's postings.

    One call of scipy's compiled CSC product reads every chosen posting list in place (about
    2 ns a posting): the lists are passed as the columns of a matrix whose column pointer
    alternates (start, end) of each list, with the lists in decreasing order of start, so
    the column between two lists runs from one list's end back to the next one's start:
    empty, as the kernel's loop ``for i in range(Ap[j], Ap[j + 1])`` never runs. No Python
    loop per term and no gathering of postings."""
    out = np.zeros(base.n_slots, dtype=np.float32)
    if not len(starts):
        return out
    total = int(base.term_indptr[-1])
    if _csc_matvec is not None and base.post_docs.dtype == np.int32 and total < INT32_MAX:
        order = np.argsort(-starts, kind="stable")
        pointers = np.empty(2 * len(order), dtype=np.int32)
        pointers[0::2] = starts[order]
        pointers[1::2] = starts[order] + lengths[order]
        factors = np.zeros(2 * len(order) - 1, dtype=np.float32)
        factors[0::2] = weights[order]
        _csc_matvec(
            base.n_slots,
            len(factors),
            pointers,
            base.post_docs,
            base.post_weights,
            factors,
            out,
        )
        return out
    idx = ranges(starts, lengths)
    values = base.post_weights[idx] * np.repeat(weights, lengths)
    out += np.bincount(base.post_docs[idx], weights=values, minlength=base.n_slots).astype(
        np.float32
    )
    return out


def base_candidates(
    base: BaseSegment,
    query: Query,
    want: int,
    accept: Accept,
    dead: npt.NDArray[np.int64],
    config: MatchConfig,
) -> list[int]:
    """Slots of the base worth rescoring, best first by their word and bigram score."""
    if base.n_docs == 0:
        return []
    use = (query.views != CHAR) & (query.ids < base.n_terms)
    budget = max(config.postings_budget, int(config.postings_budget_per_doc * base.n_slots))
    ids = query.ids[use].astype(np.int64)
    lengths = base.term_indptr[ids + 1] - base.term_indptr[ids]
    ids, weights = query.ids[use].astype(np.int64), query.weights[use]
    starts, ends = base.term_indptr[ids], base.term_indptr[ids + 1]
    lengths = ends - starts
    bound = weights * base.max_weight[ids]
    order = np.argsort(-bound, kind="stable")
    spent = np.cumsum(lengths[order])
    chosen = order[: max(1, int(np.searchsorted(spent, budget, side="right")))]
    partial = accumulate(base, starts[chosen], lengths[chosen], weights[chosen])
    if len(dead):
        partial[dead] = 0.0
    if accept is None:
        return [int(i) for i in _best(partial, want).tolist()]
    ordered = _best(partial, max(want * 8, 256))
    taken = _take(ordered, want, accept, int)
    if len(taken) < want and len(ordered) >= max(want * 8, 256):
        everything = np.arange(base.n_slots, dtype=np.int64)
        taken = _take(_order(partial.astype(np.float64), everything), want, accept, int)
    return taken


def rescore(
    rows: I64,
    positions: I64 | I32,
    tf: F32,
    n_rows: int,
    lengths: F32,
    averages: F32,
    query: Query,
    config: MatchConfig,
) -> tuple[F64, F32]:
    """Exact scores of ``n_rows`` documents from their entries for the query's terms
    (row, position of the term in the query, count); also the matrix of per-(document,
    query term) contributions (for explanations)."""
    n_terms = len(query.ids)
    key = rows * n_terms + positions
    summed = np.bincount(key, weights=tf, minlength=n_rows * n_terms)
    counts: F32 = summed.reshape(n_rows, n_terms).astype(np.float32)
    ratio = lengths[:, query.views] / averages[query.views]
    contributions = bm25_tf(counts, ratio, config) * query.weights
    return contributions.sum(axis=1, dtype=np.float64), contributions


def delta_candidates(
    delta: DeltaSegment,
    query: Query,
    want: int,
    accept: Accept,
    averages: F32,
    config: MatchConfig,
) -> list[int]:
    """Rows of a delta worth rescoring, best first by their exact word and bigram score."""
    if not len(delta):
        return []
    rows, tf, lengths = array("i"), array("f"), list[int]()
    found = delta.gather(query.ids.tolist(), rows, tf, lengths)
    if not found:
        return []
    counts = np.array(lengths, dtype=np.int64)
    docs = np.frombuffer(rows, dtype=np.int32).copy()
    values = np.frombuffer(tf, dtype=np.float32).copy()
    views = np.repeat(query.views[found], counts)
    ratio = np.array(delta.lengths, dtype=np.float32).reshape(-1, 3)[docs, views] / averages[views]
    values = bm25_tf(values, ratio, config) * np.repeat(query.weights[found], counts)
    scores: F64 = np.bincount(docs, weights=values, minlength=len(delta)).astype(np.float64)
    scores[~np.array(delta.alive, dtype=np.bool_)] = 0.0
    ordered = _best(scores, want if accept is None else len(delta))
    return _take(ordered, want, accept, delta.slots.__getitem__)


def explain(query: Query, contributions: F32, top: int) -> list[list[tuple[str, float]]]:
    """Per document (row of ``contributions``), the query words behind its score with their
    shares of it; a bigram or char shared by several query words is split between them."""
    if not len(contributions):
        return []
    n_terms, n_words = len(query.ids), len(query.words)
    share = 1.0 / np.bincount(query.origin_term, minlength=n_terms)[query.origin_term]
    # by_word[d, w] = sum of contributions[d, t] * share over the (t, w) origin pairs
    n_docs = len(contributions)
    values = (contributions[:, query.origin_term] * share).astype(np.float32)
    cells = (np.arange(n_docs, dtype=np.int64)[:, None] * n_words + query.origin_word).ravel()
    by_word = (
        np.bincount(cells, weights=values.ravel(), minlength=n_docs * n_words)
        .reshape(n_docs, n_words)
        .astype(np.float32)
    )
    totals = contributions.sum(axis=1)
    out: list[list[tuple[str, float]]] = []
    for row, total in zip(by_word, totals.tolist(), strict=True):
        if total <= 0:
            out.append([])
            continue
        best = [i for i in np.argsort(-row, kind="stable")[:top].tolist() if row[i] > 0]
        ranked = sorted(
            ((query.words[i], float(row[i])) for i in best), key=lambda kv: (-kv[1], kv[0])
        )
        out.append([(word, round(value / total, 4)) for word, value in ranked])
    return out
