"""Vocabulary and document features: the raw material the index is built from.

A document has three views, each a bag of terms with field-weighted counts:

- words: the stored tokens;
- bigrams: the character bigrams inside each Chinese word and across two adjacent words
  (``深度`` ``学习`` gives ``深度``, ``度学``, ``学习``);
- chars: the single Chinese characters.

The index stores only the *primary* features of a document (words and the bigrams across
words); the bigrams inside a word and its characters are derived from the word's id through
the vocabulary's sub-term table, so they cost no storage per document.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

if TYPE_CHECKING:
    from app.matching import kernels
else:  # numba is imported on the first search, not at start-up
    from app.matching.lazy import kernels
from app.matching.features import BIGRAM_PREFIX, CHAR_PREFIX, FIELD_WEIGHTS
from app.matching.scoring import BIGRAM, CHAR, WORD

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]


def is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


class _Ids(dict[str, int]):
    """Term ids; looking up a missing word with [] adds it (used by the bulk encoder)."""

    def __init__(self, vocab: Vocabulary) -> None:
        super().__init__()
        self.vocab = vocab

    def __missing__(self, token: str) -> int:
        return self.vocab.add_word(token)


class Growable:
    """An append-only numpy array with amortised doubling; views of it stay valid snapshots
    (entries are never changed once written)."""

    def __init__(self, dtype: type, initial: tuple[int, ...] = ()) -> None:
        self.buf: npt.NDArray[np.generic] = np.zeros(1024, dtype=dtype)
        self.n = 0
        self.extend(np.array(initial, dtype=dtype))

    def _reserve(self, extra: int) -> None:
        if self.n + extra > len(self.buf):
            grown = np.zeros(max(2 * len(self.buf), self.n + extra), dtype=self.buf.dtype)
            grown[: self.n] = self.buf[: self.n]
            self.buf = grown

    def append(self, value: int) -> None:
        self._reserve(1)
        self.buf[self.n] = value
        self.n += 1

    def extend(self, values: npt.ArrayLike) -> None:
        values = np.asarray(values)
        self._reserve(len(values))
        self.buf[self.n : self.n + len(values)] = values
        self.n += len(values)

    def view(self) -> npt.NDArray[np.generic]:
        return self.buf[: self.n]


class Vocabulary:
    """Term ids for the three views; per word, the ids of the bigrams and chars inside it.

    Per-term facts are kept in growable numpy arrays (kind, first and last character, the
    word's sub-terms as CSR), so the index reads them vectorised and never copies them per
    write."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = _Ids(self)
        self.terms: list[str] = []
        self._subs: list[tuple[int, ...]] = []
        self._kinds = Growable(np.uint8)
        self._first = Growable(np.int32)  # first / last character of a word if Chinese
        self._last = Growable(np.int32)
        self._sub_indptr = Growable(np.int64, (0,))
        self._sub_ids = Growable(np.int32)
        self._pairs = PairTable()  # every bigram's id by its two characters' codes

    def __len__(self) -> int:
        return len(self.terms)

    @property
    def kinds(self) -> U8:
        return self._kinds.view()  # type: ignore[return-value]

    def _new(self, term: str, kind: int, subs: tuple[int, ...] = (), edges: str = "") -> int:
        found = len(self.terms)
        dict.__setitem__(self.ids, term, found)
        self.terms.append(term)
        self._subs.append(subs)
        self._kinds.append(kind)
        self._first.append(ord(edges[0]) if edges and is_han(edges[0]) else -1)
        self._last.append(ord(edges[-1]) if edges and is_han(edges[-1]) else -1)
        if subs:
            self._sub_ids.extend(subs)
        self._sub_indptr.append(self._sub_ids.n)
        return found

    def term(self, term: str, kind: int) -> int:
        found = dict.get(self.ids, term)
        if found is not None:
            return found
        found = self._new(term, kind)
        if kind == BIGRAM:
            self._pairs.put(np.array([pair_code(term)]), np.array([found]))
        return found

    def add_word(self, token: str) -> int:
        found = dict.get(self.ids, token)
        if found is not None:
            return found
        subs = (
            *(self.term(BIGRAM_PREFIX + b, BIGRAM) for b in inner_bigrams(token)),
            *(self.term(CHAR_PREFIX + ch, CHAR) for ch in token if is_han(ch)),
        )
        return self._new(token, WORD, subs, token)

    def edges(self) -> tuple[I32, I32]:
        """Per term: the code of its first and last character if Chinese, else -1."""
        return self._first.view(), self._last.view()  # type: ignore[return-value]

    def bigram_ids(self, codes: I64) -> I64:
        """Ids of the bigrams with these codes (``(left << 21) | right``, distinct), or -1."""
        return self._pairs.get(codes)

    def bigrams(self, codes: I64) -> I32:
        """Ids of the bigrams with these codes (``(left << 21) | right``, distinct), adding
        new ones."""
        ids = self._pairs.get(codes)
        new = np.flatnonzero(ids < 0)
        if len(new):
            first = len(self.terms)
            added = bigram_names(codes[new])
            self.ids.update(zip(added, range(first, first + len(added)), strict=True))
            self.terms.extend(added)
            self._subs.extend([()] * len(added))
            self._kinds.extend(np.full(len(added), BIGRAM, dtype=np.uint8))
            self._first.extend(np.full(len(added), -1, dtype=np.int32))
            self._last.extend(np.full(len(added), -1, dtype=np.int32))
            self._sub_indptr.extend(np.full(len(added), self._sub_ids.n, dtype=np.int64))
            ids[new] = np.arange(first, first + len(added))
            self._pairs.put(codes[new], ids[new])
        return ids.astype(np.int32)

    def table(self) -> tuple[int, I64, I32, U8, I32, I32]:
        """(size, sub-term indptr, sub-term ids, kinds, first char, last char): views that
        stay valid snapshots while the vocabulary grows."""
        first, last = self.edges()
        return (
            len(self.terms),
            self._sub_indptr.view(),  # type: ignore[return-value]
            self._sub_ids.view(),
            self.kinds,
            first,
            last,
        )


class PairTable:
    """Bigram ids by the codes of their two characters, ``(left << 21) | right``: an
    open-addressing hash table in two numpy arrays, at most 70% full (doubled and rehashed
    when it would pass that). A query's ~130 pairs across words are looked up in it in one
    compiled call, instead of as ~130 new strings in the vocabulary's dictionary, whose
    lookups miss the CPU cache (~1.7 us each at 2 million terms). 12 bytes a slot: ~50 MB at
    2 million bigrams."""

    def __init__(self) -> None:
        self.keys = np.full(1024, -1, dtype=np.int64)
        self.values = np.zeros(1024, dtype=np.int32)
        self.count = 0

    def get(self, codes: I64) -> I64:
        return kernels.pairs_get(self.keys, self.values, codes)

    def put(self, codes: I64, ids: I64) -> None:
        needed = self.count + len(codes)
        if needed > 0.7 * len(self.keys):
            size = len(self.keys)
            while needed > 0.7 * size:
                size *= 2
            used = self.keys >= 0
            old_keys, old_values = self.keys[used], self.values[used].astype(np.int64)
            self.keys = np.full(size, -1, dtype=np.int64)
            self.values = np.zeros(size, dtype=np.int32)
            kernels.pairs_put(self.keys, self.values, old_keys, old_values)
        self.count += kernels.pairs_put(self.keys, self.values, codes, ids.astype(np.int64))


def pair_code(name: str) -> int:
    """The code of a bigram term (its prefix and two characters)."""
    return (ord(name[1]) << 21) | ord(name[2])


def bigram_names(codes: I64) -> list[str]:
    """The bigram terms with these codes (``(left << 21) | right``), vectorised."""
    chars = np.empty((len(codes), 3), dtype=np.uint32)
    chars[:, 0] = ord(BIGRAM_PREFIX)
    chars[:, 1] = codes >> 21
    chars[:, 2] = codes & 0x1FFFFF
    names: list[str] = chars.view("<U3").ravel().tolist()
    return names


def inner_bigrams(token: str) -> list[str]:
    return [
        token[i : i + 2] for i in range(len(token) - 1) if is_han(token[i]) and is_han(token[i + 1])
    ]


@lru_cache(maxsize=200_000)
def token_terms(token: str) -> tuple[tuple[str, int], ...]:
    """The word itself, the bigrams inside it and its Chinese characters, with their views."""
    return (
        (token, WORD),
        *((BIGRAM_PREFIX + pair, BIGRAM) for pair in inner_bigrams(token)),
        *((CHAR_PREFIX + ch, CHAR) for ch in token if is_han(ch)),
    )


def weighted_tokens(
    tokens: Mapping[str, list[str]],
) -> tuple[dict[str, float], dict[str, float], list[tuple[str, str, str]]]:
    """Field-weighted counts of the words and of the character pairs across adjacent words,
    and each such pair with the two words it joins (for explanations)."""
    weighted: dict[str, float] = {}
    pairs: dict[str, float] = {}
    joined: list[tuple[str, str, str]] = []
    for field, items in tokens.items():
        weight = FIELD_WEIGHTS.get(field, 1.0)
        for token, n in Counter(items).items():
            weighted[token] = weighted.get(token, 0.0) + n * weight
        for a, b in itertools.pairwise(items):
            if a and b and is_han(a[-1]) and is_han(b[0]):
                pair = BIGRAM_PREFIX + a[-1] + b[0]
                pairs[pair] = pairs.get(pair, 0.0) + weight
                joined.append((pair, a, b))
    return weighted, pairs, joined


def term_counts(
    tokens: Mapping[str, list[str]], *, sources: bool = False
) -> tuple[dict[str, tuple[int, float]], list[float], dict[str, list[str]]]:
    """All features of one document or query as term text -> (view, count), view lengths,
    and (for explanations) which query words each bigram or char came from."""
    weighted, pairs, joined = weighted_tokens(tokens)
    pair_words: dict[str, list[str]] = {}
    if sources:
        for pair, a, b in joined:
            pair_words.setdefault(pair, []).extend((a, b))
    counts: dict[str, tuple[int, float]] = {}
    lengths = [0.0, 0.0, 0.0]
    origin: dict[str, list[str]] = {}
    get = counts.get
    for token, amount in weighted.items():
        for term, view in token_terms(token):
            old = get(term)
            counts[term] = (view, amount + old[1]) if old else (view, amount)
            lengths[view] += amount
            if sources:
                origin.setdefault(term, []).append(token)
    for pair, amount in pairs.items():
        old = get(pair)
        counts[pair] = (BIGRAM, amount + old[1]) if old else (BIGRAM, amount)
        lengths[BIGRAM] += amount
        if sources:
            origin.setdefault(pair, []).extend(pair_words[pair])
    if sources:
        origin = {term: list(dict.fromkeys(words)) for term, words in origin.items()}
    return counts, lengths, origin


class DocFeatures:
    """One document: all features (sorted ids, counts), primary features, view lengths."""

    __slots__ = ("ids", "lengths", "primary_ids", "primary_tf", "tf")

    def __init__(self, ids: I32, tf: F32, primary_ids: I32, primary_tf: F32, lengths: F32):
        self.ids = ids
        self.tf = tf
        self.primary_ids = primary_ids
        self.primary_tf = primary_tf
        self.lengths = lengths


def doc_features(tokens: Mapping[str, list[str]], vocab: Vocabulary) -> DocFeatures:
    """Features of one document, adding new terms to the vocabulary: the bulk encoder's
    primary features, expanded through the vocabulary's sub-term table (as the base does)."""
    primary = encode_bulk([tokens], vocab)
    primary_ids, inverse = np.unique(primary.indices, return_inverse=True)
    primary_tf = np.bincount(inverse.ravel(), weights=primary.data).astype(np.float32)
    _, sub_indptr, sub_ids, kinds, _, _ = vocab.table()
    starts = sub_indptr[primary_ids]
    counts = sub_indptr[primary_ids + 1] - starts
    all_ids = np.concatenate([primary_ids, sub_ids[ranges(starts, counts)]])
    all_tf = np.concatenate([primary_tf, np.repeat(primary_tf, counts)])
    ids, inverse = np.unique(all_ids, return_inverse=True)
    tf = np.bincount(inverse.ravel(), weights=all_tf).astype(np.float32)
    lengths = np.bincount(kinds[all_ids], weights=all_tf, minlength=3).astype(np.float32)
    return DocFeatures(ids.astype(np.int32), tf, primary_ids.astype(np.int32), primary_tf, lengths)


def ranges(starts: I64, counts: I64) -> I64:
    """Concatenation of arange(start, start + count) for each pair, vectorised."""
    total = int(counts.sum())
    if not total:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(counts)
    shift = np.repeat(starts - (ends - counts), counts)
    out: I64 = shift + np.arange(total, dtype=np.int64)
    return out


def encode_bulk(docs: Sequence[Mapping[str, list[str]]], vocab: Vocabulary) -> sp.csr_matrix:
    """Primary features of many documents at once (rows = documents), vectorised.

    Equal to ``doc_features(...).primary_*`` for each document; the only Python per token is
    one dictionary lookup."""
    flat: list[str] = []
    seg_len: list[int] = []
    seg_weight: list[float] = []
    seg_doc: list[int] = []
    for i, doc in enumerate(docs):
        for field, items in doc.items():
            if items:
                flat.extend(items)
                seg_len.append(len(items))
                seg_weight.append(FIELD_WEIGHTS.get(field, 1.0))
                seg_doc.append(i)
    words = np.fromiter(map(vocab.ids.__getitem__, flat), dtype=np.int32, count=len(flat))
    del flat
    lengths = np.array(seg_len, dtype=np.int64)
    doc_of = np.repeat(np.array(seg_doc, dtype=np.int32), lengths)
    weight = np.repeat(np.array(seg_weight, dtype=np.float32), lengths)
    seg_of = np.repeat(np.arange(len(seg_len), dtype=np.int32), lengths)
    first, last = vocab.edges()
    left, right = last[words[:-1]], first[words[1:]]
    joined = (left >= 0) & (right >= 0) & (seg_of[:-1] == seg_of[1:])
    keys = (left[joined].astype(np.int64) << 21) | right[joined]
    unique, inverse = np.unique(keys, return_inverse=True)
    pair_ids = vocab.bigrams(unique)
    rows = np.concatenate([doc_of, doc_of[:-1][joined]])
    cols = np.concatenate([words, pair_ids[inverse.ravel()]])
    data = np.concatenate([weight, weight[:-1][joined]])
    # One entry per (document, term), counts summed: a document's repeated words are
    # stored (and rescored) once.
    matrix = sp.csr_matrix((data, (rows, cols)), shape=(len(docs), len(vocab)))
    matrix.sum_duplicates()
    return matrix
