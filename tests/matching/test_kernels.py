"""The compiled kernels against plain numpy references on random inputs."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
import scipy.sparse as sp

from app.matching import kernels
from app.matching.scoring import DEFAULT_CONFIG, bm25_tf
from app.matching.segments import BaseSegment
from app.matching.store import Vocabulary, encode_bulk


def reference_best(scores: npt.NDArray[np.float32], want: int) -> npt.NDArray[np.int64]:
    positive = np.flatnonzero(scores > 0)
    ordered = positive[np.lexsort((positive, -scores[positive].astype(np.float64)))]
    return ordered[:want]


@pytest.mark.parametrize("seed", range(40))
def test_best_is_a_stable_top_k_of_the_positive_scores(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, want = int(rng.integers(0, 5_000)), int(rng.integers(1, 60))
    if seed % 3 == 0:  # many ties and zeros
        scores = rng.integers(0, 3, n).astype(np.float32)
    elif seed % 3 == 1:  # negatives are never picked
        scores = rng.normal(size=n).astype(np.float32)
    else:
        scores = (rng.random(n) * rng.integers(0, 2, n)).astype(np.float32)
    assert np.array_equal(kernels.best(scores, want), reference_best(scores, want))


def test_best_of_more_than_there_are_orders_them_all() -> None:
    scores = np.array([0.5, 0.0, 2.0, 0.5, 1.0], dtype=np.float32)
    assert kernels.best(scores, 100).tolist() == [2, 4, 0, 3]
    assert kernels.best(np.zeros(0, np.float32), 3).tolist() == []


def test_accumulate_equals_a_sparse_product() -> None:
    rng = np.random.default_rng(1)
    n_docs, n_terms = 500, 80
    matrix = sp.random(n_terms, n_docs, density=0.1, format="csr", random_state=2, dtype=np.float32)
    terms = rng.choice(n_terms, 30, replace=False).astype(np.int64)
    weights = rng.random(30).astype(np.float32)
    out = np.zeros(n_docs, dtype=np.float32)
    indptr = matrix.indptr.astype(np.int64)
    kernels.accumulate(indptr, matrix.indices, matrix.data, terms, weights, out, 0, n_docs)
    expected = matrix[terms].T @ weights
    np.testing.assert_allclose(out, expected, rtol=1e-5)


@pytest.mark.parametrize("split", [0, 1, 137, 250, 499, 500])
def test_accumulate_over_a_range_of_documents_touches_only_those(split: int) -> None:
    rng = np.random.default_rng(split)
    n_docs, n_terms = 500, 80
    matrix = sp.random(n_terms, n_docs, density=0.1, format="csr", random_state=3, dtype=np.float32)
    matrix.sort_indices()  # each term's postings in ascending document order, as the base's
    terms = rng.choice(n_terms, 30, replace=False).astype(np.int64)
    weights = rng.random(30).astype(np.float32)
    indptr = matrix.indptr.astype(np.int64)
    whole = np.zeros(n_docs, dtype=np.float32)
    kernels.accumulate(indptr, matrix.indices, matrix.data, terms, weights, whole, 0, n_docs)
    low = np.zeros(n_docs, dtype=np.float32)
    kernels.accumulate(indptr, matrix.indices, matrix.data, terms, weights, low, 0, split)
    high = np.zeros(n_docs, dtype=np.float32)
    kernels.accumulate(indptr, matrix.indices, matrix.data, terms, weights, high, split, n_docs)
    assert not low[split:].any()
    assert not high[:split].any()
    np.testing.assert_array_equal(low + high, whole)


def test_base_counts_equal_the_expanded_features() -> None:
    rng = np.random.default_rng(5)
    words = ["热解", "氮化硼", "坩埚", "涂层工艺", "abc", "测试", "热解氮化硼坩埚", "工艺"]
    vocab = Vocabulary()
    docs = [
        {"title": list(rng.choice(words, 3)), "description": list(rng.choice(words, 12))}
        for _ in range(60)
    ]
    primary = encode_bulk(docs, vocab)
    base = BaseSegment(primary, np.ones(len(docs), np.bool_), vocab.table(), DEFAULT_CONFIG)
    query_terms = np.sort(rng.choice(len(vocab), 12, replace=False)).astype(np.int32)
    position = np.zeros(len(vocab), dtype=np.int32)
    position[query_terms] = np.arange(1, len(query_terms) + 1)
    slots = np.array([3, 0, 59, 17, 17], dtype=np.int64)
    got = kernels.base_counts(
        slots,
        base.doc_indptr,
        base.doc_terms,
        base.doc_tf,
        base.doc_word,
        base.sub_indptr,
        base.sub_ids,
        kernels.term_table(query_terms),
        len(query_terms),
    )
    rows, terms, tf = base.expand(slots)
    expected = np.zeros((len(slots), len(query_terms)), dtype=np.float64)
    hit = position[terms] > 0
    np.add.at(expected, (rows[hit], position[terms[hit]] - 1), tf[hit])
    assert expected.sum() > 0
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_term_table_finds_every_term_and_nothing_else() -> None:
    rng = np.random.default_rng(4)
    ids = np.sort(rng.choice(1 << 30, 1000, replace=False)).astype(np.int32)
    table = kernels.term_table(ids)
    probe = np.concatenate([ids, rng.integers(0, 1 << 30, 5000).astype(np.int32)])
    position = {int(t): i + 1 for i, t in enumerate(ids)}
    counts = kernels.feature_counts(
        np.array([0, len(probe)], np.int64), probe, np.ones(len(probe), np.float32), table, 1000
    )
    expected = np.zeros(1000, np.float32)
    for term in probe.tolist():
        if term in position:
            expected[position[term] - 1] += 1
    assert np.array_equal(counts[0], expected)


def test_bm25_equals_the_numpy_formula() -> None:
    rng = np.random.default_rng(9)
    counts = (rng.integers(0, 4, (7, 20)) * rng.random((7, 20))).astype(np.float32)
    lengths = rng.random((7, 3)).astype(np.float32) * 300 + 1
    averages = np.array([150, 300, 400], dtype=np.float32)
    views = rng.integers(0, 3, 20).astype(np.int64)
    weights = rng.random(20).astype(np.float32)
    config = DEFAULT_CONFIG
    scores, parts = kernels.bm25(counts, lengths, averages, views, weights, config.k1, config.b)
    ratio = lengths[:, views] / averages[views]
    expected = bm25_tf(counts, ratio, config) * weights
    np.testing.assert_allclose(parts, expected, rtol=1e-5)
    np.testing.assert_allclose(scores, expected.sum(axis=1), rtol=1e-5)


def test_explain_splits_shared_terms_and_picks_the_largest_words() -> None:
    rng = np.random.default_rng(11)
    n_rows, n_terms, n_words, top = 6, 30, 12, 5
    contributions = (rng.random((n_rows, n_terms)) * rng.integers(0, 2, (n_rows, n_terms))).astype(
        np.float32
    )
    contributions[5] = 0.0  # a row with no score
    pairs = {
        (int(t), int(w))
        for t, w in zip(rng.integers(0, n_terms, 50), rng.integers(0, n_words, 50), strict=True)
    }
    pairs |= {(t, t % n_words) for t in range(n_terms)}  # every term has an origin
    origin_term = np.array([t for t, _ in sorted(pairs)], dtype=np.int64)
    origin_word = np.array([w for _, w in sorted(pairs)], dtype=np.int64)
    words, values, totals = kernels.explain(contributions, origin_term, origin_word, n_words, top)
    sources = np.bincount(origin_term, minlength=n_terms).astype(np.float64)
    by_word = np.zeros((n_rows, n_words))
    for t, w in zip(origin_term, origin_word, strict=True):
        by_word[:, w] += contributions[:, t] / sources[t]
    np.testing.assert_allclose(by_word.sum(axis=1), contributions.sum(axis=1), rtol=1e-5)
    np.testing.assert_allclose(totals, contributions.sum(axis=1), rtol=1e-5)
    for row in range(n_rows):
        expected = [
            w for w in np.argsort(-by_word[row], kind="stable")[:top] if by_word[row, w] > 0
        ]
        assert [w for w in words[row] if w >= 0] == expected
        np.testing.assert_allclose(values[row][: len(expected)], by_word[row, expected], rtol=1e-5)
    assert words[5].tolist() == [-1] * top


def test_warm_up_compiles_every_kernel_a_search_uses() -> None:
    from numba.core.registry import CPUDispatcher

    from app.matching.index import MatchIndex

    kernels.warm_up()
    dispatchers = {
        name: value
        for name, value in vars(kernels).items()
        if isinstance(value, CPUDispatcher) and not name.startswith("_")  # inlined helpers
    }
    index = MatchIndex(merge_threshold=10_000)
    docs = [
        {"title": ["热解", "氮化硼", "坩埚"], "description": ["涂层", "工艺", str(i)]}
        for i in range(50)
    ]
    index.bulk_load((f"d{i}", doc, {"n": i}) for i, doc in enumerate(docs))
    index.upsert("new", {"title": ["坩埚", "涂层"]}, {"n": -1})  # a delta segment too
    query = {"description": ["坩埚", "涂层", "氮化硼", "新词"]}
    assert index.search(query, limit=5)
    assert index.search(query, limit=5, where=lambda meta: meta["n"] != 3)
    # One compiled version each, whatever ran before in this process: the searches used
    # exactly the argument types that warm_up() compiles.
    assert {name: len(d.signatures) for name, d in dispatchers.items()} == dict.fromkeys(
        dispatchers, 1
    )


def test_delta_scores_sum_bm25_over_the_sorted_postings_and_the_tail() -> None:
    rng = np.random.default_rng(12)
    n_rows, n_query = 40, 6
    query_ids = np.array([3, 8, 11, 20, 31, 40], dtype=np.int32)
    views = np.array([0, 1, 1, 0, 2, 0], dtype=np.int64)  # a char term is never in postings
    weights = rng.random(n_query).astype(np.float32)
    counts = np.array([5, 0, 17, 9], dtype=np.int64)  # sorted part: query terms 0, 1, 2, 5
    positions = np.array([0, 1, 2, 5], dtype=np.int64)
    starts = np.r_[0, np.cumsum(counts)[:-1]].astype(np.int64)
    rows = rng.integers(0, n_rows, counts.sum()).astype(np.int32)
    tf = (rng.integers(1, 4, counts.sum()) * 1.5).astype(np.float32)
    tail_terms = rng.choice([3, 8, 20, 40, 7, 99], 30).astype(np.int32)  # 7, 99: not queried
    tail_rows = rng.integers(0, n_rows, 30).astype(np.int32)
    tail_tf = rng.integers(1, 3, 30).astype(np.float32)
    lengths = (rng.random((n_rows, 3)) * 200 + 1).astype(np.float32)
    averages = np.array([100, 150, 300], dtype=np.float32)
    alive = rng.random(n_rows) > 0.2
    config = DEFAULT_CONFIG
    got = kernels.delta_scores(
        starts, counts, positions, rows, tf, tail_terms, tail_rows, tail_tf,
        kernels.term_table(query_ids), views, weights, lengths, averages, alive,
        config.k1, config.b,
    )  # fmt: skip
    position = {int(t): i for i, t in enumerate(query_ids)}
    tail_hit = np.array([int(t) in position for t in tail_terms])
    term = np.concatenate(
        [np.repeat(positions, counts), [position[int(t)] for t in tail_terms[tail_hit]]]
    ).astype(np.int64)
    all_rows = np.concatenate([rows, tail_rows[tail_hit]])
    all_tf = np.concatenate([tf, tail_tf[tail_hit]])
    ratio = lengths[all_rows, views[term]] / averages[views[term]]
    values = bm25_tf(all_tf, ratio, config) * weights[term]
    expected = np.bincount(all_rows, weights=values, minlength=n_rows) * alive
    assert tail_hit.any()
    assert not tail_hit.all()
    np.testing.assert_allclose(got, expected, rtol=1e-5)


@pytest.mark.parametrize("sizes", [(0, 0), (0, 7), (9, 0), (300, 40), (40, 300)])
def test_merge_postings_merges_two_csrs_by_term(sizes: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(sizes))

    def csr(n: int) -> tuple[npt.NDArray[np.int32], ...]:
        terms = np.sort(rng.integers(0, 50, n)).astype(np.int32)  # one per posting
        starts = np.flatnonzero(np.r_[True, terms[1:] != terms[:-1]]) if n else terms[:0]
        return (
            terms[starts],
            np.append(starts, n).astype(np.int64),
            rng.integers(0, 1000, n).astype(np.int32),
            rng.random(n).astype(np.float32),
            terms,
        )

    a, b = csr(sizes[0]), csr(sizes[1])
    n, spare = sum(sizes), 5  # output buffers longer than needed, as the delta's are
    terms, indptr = np.full(n + spare, -7, np.int32), np.zeros(n + spare + 1, np.int64)
    rows, tf = np.full(n + spare, -7, np.int32), np.zeros(n + spare, np.float32)
    n_terms = kernels.merge_postings(*a[:4], *b[:4], terms, indptr, rows, tf)
    per_posting = np.concatenate([a[4], b[4]])
    order = np.argsort(per_posting, kind="stable")  # a's postings first for a shared term
    assert np.array_equal(terms[:n_terms], np.unique(per_posting))
    assert np.array_equal(
        np.repeat(terms[:n_terms], np.diff(indptr[: n_terms + 1])), per_posting[order]
    )
    assert np.array_equal(rows[:n], np.concatenate([a[2], b[2]])[order])
    assert np.array_equal(tf[:n], np.concatenate([a[3], b[3]])[order])


def test_pair_table_matches_a_dictionary_through_growth() -> None:
    from app.matching.store import PairTable

    rng = np.random.default_rng(21)
    table, reference = PairTable(), {}
    for _ in range(12):  # batches that make it double several times
        left = rng.integers(0x4E00, 0x4E00 + 300, 700)
        right = rng.integers(0x4E00, 0x4E00 + 300, 700)
        codes = np.unique((left << 21) | right)
        ids = rng.integers(0, 1 << 30, len(codes))
        table.put(codes, ids)
        reference.update(zip(codes.tolist(), ids.tolist(), strict=True))  # a code's last id wins
        assert table.count == len(reference)
        assert table.count <= 0.7 * len(table.keys)
    known = np.array(list(reference), dtype=np.int64)
    assert table.get(known).tolist() == [reference[c] for c in known.tolist()]
    unknown = (rng.integers(0x9000, 0x9100, 500) << 21) | rng.integers(0x9000, 0x9100, 500)
    assert (table.get(unknown) == -1).all()
