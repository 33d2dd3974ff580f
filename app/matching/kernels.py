"""The compiled inner loops of a search (numba): reading postings, selecting the best
candidates and rescoring them exactly from their stored features.

Each is a plain loop over numpy arrays that numpy can only express with temporary arrays
and many calls: at 100,000 documents the rescoring, top-k and explanations took ~2.6 ms a
query in numpy and take ~1 ms here (docs/matching.md). They release the GIL. Compiled code
is cached on disk (``cache=True``); ``warm_up()`` compiles them all at start-up, with the
argument types searches use (a test checks that no search compiles another version).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from app.matching.scoring import BIGRAM, WORD

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
U8 = npt.NDArray[np.uint8]


@njit(cache=True, nogil=True)
def accumulate(
    term_indptr: I64,
    post_docs: I32,
    post_weights: F32,
    terms: I64,
    weights: F32,
    out: F32,
    lo: int,
    hi: int,
) -> None:
    """``out[doc] += weight x posting weight`` over the given terms' postings whose document
    is in ``[lo, hi)`` (each term's postings are in ascending document order, so the range's
    are found by binary search: two threads can each take half of the documents)."""
    for i in range(len(terms)):
        term, weight = terms[i], weights[i]
        start, end = term_indptr[term], term_indptr[term + 1]
        if lo > 0:
            start += np.searchsorted(post_docs[start:end], lo)
        if hi < len(out):
            end = start + np.searchsorted(post_docs[start:end], hi)
        for j in range(start, end):
            out[post_docs[j]] += weight * post_weights[j]


@njit(cache=True, nogil=True)
def best(scores: F32, want: int) -> I64:
    """Positions of the (at most) ``want`` largest positive scores, best first; ties go to
    the lower position. One pass with a small min-heap."""
    heap_score = np.empty(max(want, 1), dtype=np.float32)
    heap_item = np.empty(max(want, 1), dtype=np.int64)
    size = 0
    for item in range(len(scores)):
        score = scores[item]
        if score <= 0.0:
            continue
        if size < want:  # sift up
            at = size
            size += 1
            while at > 0:
                parent = (at - 1) >> 1
                if not _worse(score, item, heap_score[parent], heap_item[parent]):
                    break
                heap_score[at], heap_item[at] = heap_score[parent], heap_item[parent]
                at = parent
            heap_score[at], heap_item[at] = score, item
        elif size and score > heap_score[0]:  # replaces the worst; sift down
            at = 0
            while True:
                child = 2 * at + 1
                if child >= size:
                    break
                if child + 1 < size and _worse(
                    heap_score[child + 1], heap_item[child + 1], heap_score[child], heap_item[child]
                ):
                    child += 1
                if not _worse(heap_score[child], heap_item[child], score, item):
                    break
                heap_score[at], heap_item[at] = heap_score[child], heap_item[child]
                at = child
            heap_score[at], heap_item[at] = score, item
    order = np.argsort(-heap_score[:size].astype(np.float64), kind="mergesort")
    out = heap_item[:size][order]
    # argsort by score alone is stable on the heap's order, not on the position: fix ties.
    start = 0
    for i in range(1, size + 1):
        if i == size or heap_score[order[i]] != heap_score[order[start]]:
            out[start:i] = np.sort(out[start:i])
            start = i
    return out


@njit(cache=True, nogil=True, inline="always")
def _worse(score_a: float, item_a: int, score_b: float, item_b: int) -> bool:
    """Whether (a) ranks below (b): a lower score, or the same score at a higher position."""
    return score_a < score_b or (score_a == score_b and item_a > item_b)


@njit(cache=True, nogil=True)
def term_table(ids: I32) -> I32:
    """An open-addressing hash table of the query's term ids: ``table[2 * h]`` a term,
    ``table[2 * h + 1]`` 1 + its position in ``ids``. A few kB, so the many lookups of
    rescoring stay in the CPU's cache (a dense per-term array is megabytes)."""
    size = 16
    while size < 4 * len(ids):
        size *= 2
    table = np.full(2 * size, -1, dtype=np.int32)
    for i in range(len(ids)):
        at = _slot(ids[i], size)
        while table[2 * at] != -1:
            at = (at + 1) & (size - 1)
        table[2 * at] = ids[i]
        table[2 * at + 1] = i + 1
    return table


@njit(cache=True, nogil=True, inline="always")
def _slot(term: int, size: int) -> int:
    """Multiplicative (Fibonacci) hashing; the product's middle bits mix all of the id's."""
    return ((term * 2654435761) >> 15) & (size - 1)


@njit(cache=True, nogil=True, inline="always")
def _position(table: I32, term: int) -> int:
    """1 + the term's position in the query, or 0."""
    size = len(table) // 2
    at = _slot(term, size)
    while True:
        found = table[2 * at]
        if found == term:
            return int(table[2 * at + 1])
        if found == -1:
            return 0
        at = (at + 1) & (size - 1)


@njit(cache=True, nogil=True, inline="always")
def _pair_slot(code: int, mask: int) -> np.int64:
    """splitmix64's finaliser: every bit of the code moves the slot."""
    x = np.uint64(code)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return np.int64((x ^ (x >> np.uint64(31))) & np.uint64(mask))  # uint64 + 1 is a float


@njit(cache=True, nogil=True)
def pairs_get(keys: I64, values: I32, codes: I64) -> I64:
    """Per code, its value in the open-addressing table (``keys`` -1 where empty; a power
    of two long), or -1."""
    out = np.full(len(codes), -1, dtype=np.int64)
    mask = len(keys) - 1
    for i in range(len(codes)):
        at = _pair_slot(codes[i], mask)
        while keys[at] != -1:
            if keys[at] == codes[i]:
                out[i] = values[at]
                break
            at = (at + 1) & mask
    return out


@njit(cache=True, nogil=True)
def pairs_put(keys: I64, values: I32, codes: I64, ids: I64) -> int:
    """Set each code's value in the table (room for them all is the caller's); returns how
    many codes were new."""
    mask = len(keys) - 1
    added = 0
    for i in range(len(codes)):
        at = _pair_slot(codes[i], mask)
        while keys[at] != -1 and keys[at] != codes[i]:
            at = (at + 1) & mask
        if keys[at] == -1:
            added += 1
        keys[at], values[at] = codes[i], ids[i]
    return added


@njit(cache=True, nogil=True)
def query_terms(
    word_keys: I64,
    word_index: I64,
    word_amounts: F32,
    sub_indptr: I64,
    sub_ids: I32,
    kinds: U8,
    pair_keys: I64,
    pair_amounts: F64,
    pair_of: I64,
    pair_left: I64,
    pair_right: I64,
    extra: F64,
    df: I32,
    n_words: int,
) -> tuple[I64, F32, I64, F32, I64, I64]:
    """A query's distinct terms from its known words (``word_keys``: term ids; ``word_index``:
    which query word each is), the bigrams and chars inside them (``sub_*``), the pairs across
    words (``pair_keys``, one per distinct pair, with its amount; ``pair_of``/``pair_left``/
    ``pair_right``: per joined occurrence, the pair and its two words) and the terms of
    unknown words (``extra`` rows: key, view, amount, word). Keys of terms the index has never
    seen are negative.

    Returns the distinct keys (ascending), their counts, views, the view lengths, their
    document frequencies and the (term position among those with df > 0) x ``n_words`` +
    word cells saying which words each such term comes from (sorted, distinct). Sums run in
    entry order in float64, as ``np.bincount`` does."""
    n_subs = 0
    for i in range(len(word_keys)):
        n_subs += sub_indptr[word_keys[i] + 1] - sub_indptr[word_keys[i]]
    n_own = len(word_keys) + n_subs  # entries that come from one word each
    n = n_own + len(pair_keys) + len(extra)
    keys = np.empty(n, dtype=np.int64)
    views = np.empty(n, dtype=np.int64)
    values = np.empty(n, dtype=np.float64)
    owner = np.empty(n_own, dtype=np.int64)
    at = len(word_keys)
    for i in range(len(word_keys)):
        keys[i], views[i], values[i] = word_keys[i], WORD, word_amounts[i]
        owner[i] = word_index[i]
        for k in range(sub_indptr[word_keys[i]], sub_indptr[word_keys[i] + 1]):
            keys[at], views[at], values[at] = sub_ids[k], kinds[sub_ids[k]], word_amounts[i]
            owner[at] = word_index[i]
            at += 1
    for i in range(len(pair_keys)):
        keys[at], views[at], values[at] = pair_keys[i], BIGRAM, pair_amounts[i]
        at += 1
    for i in range(len(extra)):
        keys[at], views[at], values[at] = np.int64(extra[i, 0]), np.int64(extra[i, 1]), extra[i, 2]
        at += 1
    order = np.argsort(keys, kind="mergesort")  # stable: a term's first entry comes first
    term_of = np.empty(n, dtype=np.int64)
    terms = np.empty(n, dtype=np.int64)
    term_views = np.empty(n, dtype=np.int64)
    n_terms = 0
    for i in range(n):
        e = order[i]
        if i == 0 or keys[e] != keys[order[i - 1]]:
            terms[n_terms], term_views[n_terms] = keys[e], views[e]
            n_terms += 1
        term_of[e] = n_terms - 1
    terms, term_views = terms[:n_terms].copy(), term_views[:n_terms].copy()
    tf64 = np.zeros(n_terms, dtype=np.float64)
    lengths64 = np.zeros(3, dtype=np.float64)
    for e in range(n):
        tf64[term_of[e]] += values[e]
        lengths64[views[e]] += values[e]
    term_df = np.zeros(n_terms, dtype=np.int64)
    rank = np.full(n_terms, -1, dtype=np.int64)
    n_present = 0
    for t in range(n_terms):
        if 0 <= terms[t] < len(df):
            term_df[t] = df[terms[t]]
        if term_df[t] > 0:
            rank[t] = n_present
            n_present += 1
    cells = np.empty(n_own + 2 * len(pair_of) + len(extra), dtype=np.int64)
    m = 0
    for e in range(n_own):
        if rank[term_of[e]] >= 0:
            cells[m] = rank[term_of[e]] * n_words + owner[e]
            m += 1
    for j in range(len(pair_of)):
        r = rank[term_of[n_own + pair_of[j]]]
        if r >= 0:
            cells[m] = r * n_words + pair_left[j]
            cells[m + 1] = r * n_words + pair_right[j]
            m += 2
    for i in range(len(extra)):
        r = rank[term_of[n_own + len(pair_keys) + i]]
        if r >= 0:
            cells[m] = r * n_words + np.int64(extra[i, 3])
            m += 1
    cells = np.sort(cells[:m])
    distinct = 0
    for i in range(m):
        if i == 0 or cells[i] != cells[i - 1]:
            cells[distinct] = cells[i]
            distinct += 1
    return (
        terms,
        tf64.astype(np.float32),
        term_views,
        lengths64.astype(np.float32),
        term_df,
        cells[:distinct].copy(),
    )


@njit(cache=True, nogil=True)
def base_counts(
    slots: I64,
    doc_indptr: I64,
    doc_terms: I32,
    doc_tf: F32,
    doc_word: Bools,
    sub_indptr: I64,
    sub_ids: I32,
    table: I32,
    n_query_terms: int,
) -> F32:
    """Per (slot, query term), the term's count in the document: its primary features and,
    for each word, the bigrams and characters inside it (``table``: ``term_table``)."""
    counts = np.zeros((len(slots), n_query_terms), dtype=np.float32)
    for row in range(len(slots)):
        slot = slots[row]
        for j in range(doc_indptr[slot], doc_indptr[slot + 1]):
            term, tf = doc_terms[j], doc_tf[j]
            at = _position(table, term)
            if at:
                counts[row, at - 1] += tf
            if doc_word[j]:
                for k in range(sub_indptr[term], sub_indptr[term + 1]):
                    at = _position(table, sub_ids[k])
                    if at:
                        counts[row, at - 1] += tf
    return counts


@njit(cache=True, nogil=True)
def feature_counts(indptr: I64, ids: I32, tf: F32, table: I32, n_query_terms: int) -> F32:
    """``base_counts`` for documents whose features are stored expanded (delta segments)."""
    counts = np.zeros((len(indptr) - 1, n_query_terms), dtype=np.float32)
    for row in range(len(indptr) - 1):
        for j in range(indptr[row], indptr[row + 1]):
            at = _position(table, ids[j])
            if at:
                counts[row, at - 1] += tf[j]
    return counts


@njit(cache=True, nogil=True)
def delta_scores(
    starts: I64,
    counts: I64,
    positions: I64,
    rows: I32,
    tf: F32,
    tail_terms: I32,
    tail_rows: I32,
    tail_tf: F32,
    table: I32,
    views: I64,
    weights: F32,
    lengths: F32,
    averages: F32,
    alive: Bools,
    k1: float,
    b: float,
) -> F32:
    """Per row of a delta segment, its BM25 score over the query's word and bigram terms:
    from the sorted postings (``counts[i]`` postings from ``starts[i]``, of the query term
    at ``positions[i]``) and from every posting of the unsorted tail whose term is in the
    query (``table``: ``term_table``). Rows no longer ``alive`` score 0."""
    scores = np.zeros(len(alive), dtype=np.float32)
    for i in range(len(starts)):
        view, weight = views[positions[i]], weights[positions[i]]
        for j in range(starts[i], starts[i] + counts[i]):
            scores[rows[j]] += (
                _bm25_term(tf[j], lengths[rows[j], view] / averages[view], k1, b) * weight
            )
    for j in range(len(tail_terms)):
        at = _position(table, tail_terms[j])
        if at:
            view, weight = views[at - 1], weights[at - 1]
            row = tail_rows[j]
            scores[row] += (
                _bm25_term(tail_tf[j], lengths[row, view] / averages[view], k1, b) * weight
            )
    for row in range(len(alive)):
        if not alive[row]:
            scores[row] = 0.0
    return scores


@njit(cache=True, nogil=True, inline="always")
def _bm25_term(tf: float, length_ratio: float, k1: float, b: float) -> np.float32:
    """The document side of BM25 for one term (as ``scoring.bm25_tf``)."""
    return np.float32(tf * (k1 + 1.0) / (tf + k1 * (1.0 - b + b * length_ratio)))


@njit(cache=True, nogil=True)
def bm25(
    counts: F32,
    lengths: F32,
    averages: F32,
    views: I64,
    weights: F32,
    k1: float,
    b: float,
) -> tuple[F64, F32]:
    """Exact scores from the counts (rows: documents, columns: query terms) and the matrix
    of per-term contributions (for explanations)."""
    n_rows, n_terms = counts.shape
    contributions = np.zeros((n_rows, n_terms), dtype=np.float32)
    scores = np.zeros(n_rows, dtype=np.float64)
    for row in range(n_rows):
        total = 0.0
        for t in range(n_terms):
            tf = counts[row, t]
            if tf > 0.0:
                ratio = lengths[row, views[t]] / averages[views[t]]
                value = _bm25_term(tf, ratio, k1, b) * weights[t]
                contributions[row, t] = value
                total += value
        scores[row] = total
    return scores, contributions


@njit(cache=True, nogil=True)
def explain(
    contributions: F32, origin_term: I64, origin_word: I64, n_words: int, top: int
) -> tuple[I64, F32, F64]:
    """Per document (row of ``contributions``), the ``top`` query words with the largest
    share of its score (``-1`` pads): a term coming from several words (a bigram across two
    words, a char of several) is split evenly between them. Also each row's total."""
    n_rows, n_terms = contributions.shape
    sources = np.zeros(n_terms, dtype=np.float32)
    for i in range(len(origin_term)):
        sources[origin_term[i]] += 1.0
    words = np.full((n_rows, top), -1, dtype=np.int64)
    values = np.zeros((n_rows, top), dtype=np.float32)
    totals = np.zeros(n_rows, dtype=np.float64)
    by_word = np.zeros(n_words, dtype=np.float32)
    for row in range(n_rows):
        by_word[:] = 0.0
        for i in range(len(origin_term)):
            term = origin_term[i]
            by_word[origin_word[i]] += contributions[row, term] / sources[term]
        for t in range(n_terms):
            totals[row] += contributions[row, t]
        for k in range(top):  # the best remaining word (the lowest index among ties)
            pick, value = -1, np.float32(0.0)
            for w in range(n_words):
                if by_word[w] > value:
                    pick, value = w, by_word[w]
            if pick < 0:
                break
            words[row, k], values[row, k] = pick, value
            by_word[pick] = 0.0
    return words, values, totals


@njit(cache=True, nogil=True)
def merge_postings(
    terms_a: I32,
    indptr_a: I64,
    rows_a: I32,
    tf_a: F32,
    terms_b: I32,
    indptr_b: I64,
    rows_b: I32,
    tf_b: F32,
    terms: I32,
    indptr: I64,
    rows: I32,
    tf: F32,
) -> int:
    """Two sets of postings grouped by term (CSR: distinct ascending ``terms_*``, each one's
    postings from ``indptr_*``) merged into one, ``a``'s postings first for a shared term,
    written to the given arrays (long enough; reused, so a merge touches no new memory).
    A pass over the distinct terms, copying each group whole; returns the number of
    distinct terms."""
    n_a, n_b = len(terms_a), len(terms_b)
    i = j = n = at = 0
    while i < n_a or j < n_b:
        take_a = j == n_b or (i < n_a and terms_a[i] <= terms_b[j])
        take_b = i == n_a or (j < n_b and terms_b[j] <= terms_a[i])
        terms[n] = terms_a[i] if take_a else terms_b[j]
        indptr[n] = at
        n += 1
        if take_a:
            for k in range(indptr_a[i], indptr_a[i + 1]):
                rows[at], tf[at] = rows_a[k], tf_a[k]
                at += 1
            i += 1
        if take_b:
            for k in range(indptr_b[j], indptr_b[j + 1]):
                rows[at], tf[at] = rows_b[k], tf_b[k]
                at += 1
            j += 1
    indptr[n] = at
    return n


def warm_up() -> None:
    """Compile (or load from the cache) every kernel with the types searches use."""
    i64, i32 = np.zeros(2, np.int64), np.zeros(2, np.int32)
    f32, flags = np.zeros(2, np.float32), np.zeros(2, np.bool_)
    lengths, averages = np.ones((2, 3), np.float32), np.ones(3, np.float32)
    accumulate(i64, i32, f32, i64, f32, f32.copy(), 0, 2)
    best(f32, 1)
    f64, u8 = np.zeros(2, np.float64), np.zeros(2, np.uint8)
    sub_indptr = np.zeros(3, np.int64)
    extra = np.zeros((0, 4), np.float64)
    pair_keys, pair_values = np.full(4, -1, np.int64), np.zeros(4, np.int32)
    pairs_put(pair_keys, pair_values, i64, i64)
    pairs_get(pair_keys, pair_values, i64)
    query_terms(i64, i64, f32, sub_indptr, i32, u8, i64, f64, i64, i64, i64, extra, i32, 2)
    table = term_table(i32)
    counts = base_counts(i64, i64, i32, f32, flags, i64, i32, table, 1)
    feature_counts(i64, i32, f32, table, 1)
    _, parts = bm25(counts, lengths, averages, i64, f32, 1.2, 0.75)
    explain(parts, i64, i64, 1, 1)
    postings = (i64, i64, i64, i32, f32)  # sorted part: starts, counts, positions, rows, tf
    tail = (i32, i32, f32)
    delta_scores(*postings, *tail, table, i64, f32, lengths, averages, flags, 1.2, 0.75)
    csr = (i32[:1], i64, i32, f32)  # one term, postings 0..0
    merge_postings(*csr, *csr, i32.copy(), i64.copy(), i32.copy(), f32.copy())
