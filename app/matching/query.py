"""Query weighting, candidate retrieval over the segments, exact rescoring and explanations.

Two stages. Candidates: the documents sharing a word or a bigram with the query, ranked by
those two views; in the base, the query terms' postings are read in decreasing order of their
largest possible contribution (query weight x the term's largest document weight) until a
postings budget is spent, so a short query reads everything and a long one skips the
postings of its most common terms. Rescoring: the best candidates get their exact score
from their stored features, over all three views and every query term.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from app.matching import kernels
else:  # numba is imported on the first search, not at start-up
    from app.matching.lazy import kernels
from app.matching.features import FIELD_WEIGHTS
from app.matching.helper import HELPER
from app.matching.scoring import CHAR, MatchConfig, bm25_idf, bm25_tf, query_tf
from app.matching.segments import BaseSegment, DeltaSegment
from app.matching.store import Vocabulary, bigram_names, is_han, token_terms

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
Accept = Callable[[int], bool] | None
# Below these, a step of a search is done faster than half of it is handed to the helper
# thread and back (~0.1 ms here, measured in docs/matching.md): postings read, documents
# rescored, and for rescoring, documents in the base (a larger vocabulary: slower lookups).
PARALLEL_POSTINGS = 200_000
PARALLEL_RESCORE = 16
PARALLEL_RESCORE_BASE = 50_000


@dataclass(frozen=True)
class Query:
    ids: I32  # the query's terms present in the index, ascending
    weights: F32  # query weight x IDF x view weight
    views: I64
    words: list[str]  # the query's words
    origin_term: I64  # (position in ids, index in words): which words each term comes from
    origin_word: I64
    self_score: float  # the score of a document identical to the query (every term counts)
    table: I32  # kernels.term_table(ids)


def build_query(
    tokens: Mapping[str, list[str]],
    vocab: Vocabulary,
    df: npt.NDArray[np.int32],
    n_docs: int,
    averages: F32,
    config: MatchConfig,
) -> Query | None:
    """The query's features (the same as ``term_counts`` gives a document), weighted.

    Vectorised as ``encode_bulk`` is: known words are expanded to their bigrams and chars
    through the vocabulary's table, the pairs across words come from the words' first and
    last characters; only words the index has never seen are handled as text."""
    if n_docs == 0:
        return None
    position: dict[str, int] = {}  # the query's distinct words, in order of appearance
    occurrences: list[int] = []
    field_weights: list[float] = []
    field_lengths: list[int] = []
    for field, items in tokens.items():
        if items:
            add = position.setdefault
            occurrences.extend([add(token, len(position)) for token in items])
            field_weights.append(FIELD_WEIGHTS.get(field, 1.0))
            field_lengths.append(len(items))
    if not position:
        return None
    words = list(position)
    occ = np.array(occurrences, dtype=np.int64)
    occ_weight = np.repeat(np.array(field_weights, dtype=np.float64), field_lengths)
    occ_field = np.repeat(np.arange(len(field_lengths)), field_lengths)
    amounts = np.bincount(occ, weights=occ_weight, minlength=len(words)).astype(np.float32)
    get = dict.get
    ids_map = vocab.ids
    word_ids = np.fromiter((get(ids_map, w, -1) for w in words), dtype=np.int64, count=len(words))
    _, sub_indptr, sub_ids, kinds, vocab_first, vocab_last = vocab.table()
    known = np.flatnonzero(word_ids >= 0)
    unknown = np.flatnonzero(word_ids < 0).tolist()
    first = np.full(len(words), -1, dtype=np.int64)
    last = np.full(len(words), -1, dtype=np.int64)
    first[known], last[known] = vocab_first[word_ids[known]], vocab_last[word_ids[known]]
    for i in unknown:
        word = words[i]
        first[i] = ord(word[0]) if word and is_han(word[0]) else -1
        last[i] = ord(word[-1]) if word and is_han(word[-1]) else -1
    # Pairs across adjacent words of one field (``深度`` ``学习`` gives ``度学``).
    left, right = last[occ[:-1]], first[occ[1:]]
    joined = np.flatnonzero((left >= 0) & (right >= 0) & (occ_field[:-1] == occ_field[1:]))
    pair_codes, _, pair_of = _unique((left[joined] << 21) | right[joined])
    pair_ids = vocab.bigram_ids(pair_codes)
    # float64 also when there is no pair (numpy's bincount then gives int64)
    pair_amounts = np.bincount(pair_of, weights=occ_weight[joined], minlength=len(pair_ids)).astype(
        np.float64
    )
    # Terms the index has never seen get negative keys.
    new_terms: dict[str, int] = {}
    unseen = np.flatnonzero(pair_ids < 0)
    names = bigram_names(pair_codes[unseen])
    for i, name in zip(unseen.tolist(), names, strict=True):
        pair_ids[i] = -1 - new_terms.setdefault(name, len(new_terms))
    extra: list[tuple[int, int, float, int]] = []  # (key, view, amount, word)
    for i in unknown:
        for term, view in token_terms(words[i]):
            found = get(ids_map, term)
            key = -1 - new_terms.setdefault(term, len(new_terms)) if found is None else found
            extra.append((key, view, float(amounts[i]), i))
    # ``cells``: which query words each present term comes from (for explanations): a word
    # and what is inside it come from that word, a pair across two words from both.
    terms, tf, term_views, lengths, term_df, cells = kernels.query_terms(
        word_ids[known],
        known,
        amounts[known],
        sub_indptr,
        sub_ids,
        kinds,
        pair_ids,
        pair_amounts,
        pair_of,
        occ[:-1][joined],
        occ[1:][joined],
        np.array(extra, dtype=np.float64).reshape(-1, 4),
        df,
        len(words),
    )
    # Terms the index has never seen have df 0 and the highest IDF: they count in the self
    # score, so a document sharing one common word with a long query scores low, and scores
    # from indexes of different sizes are comparable.
    idf = bm25_idf(term_df, n_docs + config.idf_prior_docs)
    weights = query_tf(tf) * idf * config.view_weights()[term_views]
    ratio = lengths[term_views] / averages[term_views]
    self_score = float(np.dot(weights, bm25_tf(tf, ratio, config)))
    present = np.flatnonzero(term_df > 0)  # ascending term ids
    if not len(present):
        return None
    n_words = len(words)
    ids = terms[present].astype(np.int32)
    return Query(
        ids,
        weights[present].astype(np.float32),
        term_views[present],
        words,
        cells // n_words,
        cells % n_words,
        max(self_score, 1e-9),
        kernels.term_table(ids),
    )


def _unique(keys: I64) -> tuple[I64, I64, I64]:
    """``np.unique(keys, return_index=True, return_inverse=True)`` by one stable sort (numpy's
    hash-based unique was measured at ~0.4 ms on 1,500 keys, this at ~30 us)."""
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    new = np.empty(len(keys), dtype=np.bool_)
    new[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    inverse = np.empty(len(keys), dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    return ordered[new], order[new], inverse


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


def _tried(want: int, accept: Accept) -> int:
    """How many of the best scores ``_pick`` looks at first: ``want``, or with a filter the
    best ``8 x want`` (at least 256)."""
    return want if accept is None else max(want * 8, 256)


def _pick(
    first: I64, scores: F32, want: int, accept: Accept, slot_of: Callable[[int], int]
) -> list[int]:
    """The ``want`` best positive scores whose documents pass ``accept``, best first, from
    ``first`` (the best ``_tried(want, accept)`` of ``scores``, best first), or from all of
    ``scores`` if the filter rejected too many of those."""
    taken = _take(first, want, accept, slot_of)
    if len(taken) < want and accept is not None and len(first) == _tried(want, accept):
        taken = _take(kernels.best(scores, len(scores)), want, accept, slot_of)
    return taken


def base_candidates(
    base: BaseSegment,
    query: Query,
    want: int,
    accept: Accept,
    dead: npt.NDArray[np.int64],
    budget: int,
    scores: F32,
    threads: int = 1,
) -> tuple[list[int], F32]:
    """Slots of the base worth rescoring, best first, and their word and bigram scores, from
    at most ``budget`` postings (and at least one term's). With ``threads`` 2, a helper
    thread reads the postings of the upper half of the slots (``helper.py``).

    ``scores`` is a zeroed buffer of ``base.n_slots`` entries, left zeroed."""
    if base.n_docs == 0:
        return [], np.zeros(0, np.float32)
    use = (query.views != CHAR) & (query.ids < base.n_terms)
    ids, weights = query.ids[use].astype(np.int64), query.weights[use]
    lengths = base.term_indptr[ids + 1] - base.term_indptr[ids]
    order = np.argsort(-(weights * base.max_weight[ids]), kind="stable")
    spent = np.cumsum(lengths[order])
    read = min(max(1, int(np.searchsorted(spent, budget, side="right"))), len(spent))
    terms, term_weights = ids[order[:read]], weights[order[:read]]
    tried = _tried(want, accept)

    def best_in(lo: int, hi: int) -> I64:
        kernels.accumulate(
            base.term_indptr, base.post_docs, base.post_weights, terms, term_weights, scores, lo, hi
        )
        scores[dead[(dead >= lo) & (dead < hi)]] = 0.0
        return kernels.best(scores[lo:hi], tried) + lo

    try:
        n = base.n_slots
        if threads > 1 and read and spent[read - 1] >= PARALLEL_POSTINGS:
            low, high = HELPER.both(lambda: best_in(0, n // 2), lambda: best_in(n // 2, n))
            found = np.concatenate([low, high])
            first = found[np.lexsort((found, -scores[found]))][:tried]
        else:
            first = best_in(0, n)
        picked = _pick(first, scores, want, accept, int)
        return picked, scores[picked]
    finally:
        scores[:] = 0.0


def rescore_base(
    base: BaseSegment,
    slots: I64,
    averages: F32,
    query: Query,
    config: MatchConfig,
    threads: int = 1,
) -> tuple[F64, F32]:
    """Exact scores of these slots over all three views and every query term, and the
    matrix of per-(document, query term) contributions (for explanations). With ``threads``
    2, a helper thread rescores half of them."""

    def rescore(part: I64) -> tuple[F64, F32]:
        counts = kernels.base_counts(
            part,
            base.doc_indptr,
            base.doc_terms,
            base.doc_tf,
            base.doc_word,
            base.sub_indptr,
            base.sub_ids,
            query.table,
            len(query.ids),
        )
        return _bm25(counts, base.lengths[part], averages, query, config)

    if threads < 2 or len(slots) < PARALLEL_RESCORE or base.n_docs < PARALLEL_RESCORE_BASE:
        return rescore(slots)
    half = len(slots) // 2
    low, high = HELPER.both(lambda: rescore(slots[:half]), lambda: rescore(slots[half:]))
    return np.concatenate([low[0], high[0]]), np.concatenate([low[1], high[1]])


def rescore_delta(
    delta: DeltaSegment, rows: list[int], averages: F32, query: Query, config: MatchConfig
) -> tuple[F64, F32]:
    """``rescore_base`` for rows of a delta segment (whose features are stored expanded)."""
    features = [delta.rows[r] for r in rows]
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum([len(f.ids) for f in features], out=indptr[1:])
    counts = kernels.feature_counts(
        indptr,
        np.concatenate([f.ids for f in features]),
        np.concatenate([f.tf for f in features]),
        query.table,
        len(query.ids),
    )
    return _bm25(counts, delta.lengths[rows], averages, query, config)


def _bm25(
    counts: F32, lengths: F32, averages: F32, query: Query, config: MatchConfig
) -> tuple[F64, F32]:
    scores: F64
    contributions: F32
    scores, contributions = kernels.bm25(
        counts, lengths, averages, query.views, query.weights, config.k1, config.b
    )
    return scores, contributions


def delta_candidates(
    delta: DeltaSegment,
    query: Query,
    want: int,
    accept: Accept,
    averages: F32,
    config: MatchConfig,
    budget: int,
) -> tuple[list[int], F32]:
    """Rows of a delta worth rescoring, best first, and their word and bigram scores: the
    sorted part's postings of the query's terms, rarest (highest weight) first, within
    ``budget``; the short tail is read whole."""
    if not len(delta):
        return [], np.zeros(0, np.float32)
    use = np.flatnonzero(query.views != CHAR)
    use = use[np.argsort(-query.weights[use], kind="stable")]
    terms = delta.sorted_terms
    at = np.searchsorted(terms, query.ids[use]).clip(0, max(len(terms) - 1, 0))
    found = np.flatnonzero(terms[at] == query.ids[use]) if len(terms) else at[:0]
    starts = delta.sorted_indptr[at[found]]
    counts = delta.sorted_indptr[at[found] + 1] - starts
    read = max(1, int(np.searchsorted(np.cumsum(counts), budget, side="right")))
    tail_terms, tail_rows, tail_tf = delta.tail()
    scores = kernels.delta_scores(
        starts[:read],
        counts[:read],
        use[found[:read]],
        delta.sorted_rows,
        delta.sorted_tf,
        tail_terms,
        tail_rows,
        tail_tf,
        query.table,
        query.views,
        query.weights,
        delta.lengths,
        averages,
        delta.alive,
        config.k1,
        config.b,
    )
    first = kernels.best(scores, _tried(want, accept))
    picked = _pick(first, scores, want, accept, delta.slots.__getitem__)
    return picked, scores[picked]


def explain(query: Query, contributions: F32, top: int) -> list[list[tuple[str, float]]]:
    """Per document (row of ``contributions``), the query words behind its score with their
    shares of it, largest first; a bigram or char shared by several query words is split
    between them."""
    if not len(contributions):
        return []
    picked, values, totals = kernels.explain(
        contributions, query.origin_term, query.origin_word, len(query.words), top
    )
    out: list[list[tuple[str, float]]] = []
    words = query.words
    for row, row_values, total in zip(
        picked.tolist(), values.tolist(), totals.tolist(), strict=True
    ):
        ranked = sorted(
            ((words[i], value) for i, value in zip(row, row_values, strict=True) if i >= 0),
            key=lambda kv: (-kv[1], kv[0]),
        )
        out.append([(word, round(value / total, 4)) for word, value in ranked])
    return out
