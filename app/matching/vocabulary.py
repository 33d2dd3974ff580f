"""Term ids for the three views (words, bigrams, characters), and documents as
field-weighted term counts. Only writers (under the index's lock) add ids."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import chain, repeat

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from app.matching.features import FIELD_WEIGHTS

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
WORD, BIGRAM, CHAR = 0, 1, 2  # the three views
HAN_FIRST, HAN_LAST = 0x4E00, 0x9FFF  # the Chinese characters that form bigrams and characters


def is_han(ch: str) -> bool:
    return HAN_FIRST <= ord(ch) <= HAN_LAST


class BigramIds:
    """Bigram ids by code ``(left << 21) | right``: a sorted array of codes with their ids, plus
    a dictionary of the codes added since the array was last rebuilt. A dictionary of all of
    them would take ~100 bytes a bigram (millions of them at 100k documents); the arrays 16."""

    def __init__(self) -> None:
        # Replaced as a whole, so a reader sees one consistent state.
        self._state: tuple[I64, I64, dict[int, int]] = (np.zeros(0, np.int64),) * 2 + ({},)

    def get(self, codes: I64) -> I64:
        """The ids of these codes, -1 for unknown ones."""
        known, ids, recent = self._state
        out = np.full(len(codes), -1, dtype=np.int64)
        if len(known):
            at = np.searchsorted(known, codes).clip(0, len(known) - 1)
            found = known[at] == codes
            out[found] = ids[at[found]]
        if recent:
            for i in np.flatnonzero(out < 0).tolist():
                out[i] = recent.get(int(codes[i]), -1)
        return out

    def add(self, codes: I64, next_id: int) -> tuple[I64, int]:
        """The ids of these distinct codes, numbering the unknown ones from ``next_id``, and
        how many were unknown."""
        out = self.get(codes)
        new = np.flatnonzero(out < 0)
        out[new] = np.arange(next_id, next_id + len(new))
        known, _, recent = self._state
        recent.update(zip(codes[new].tolist(), out[new].tolist(), strict=True))
        if len(recent) > max(65_536, len(known) // 4):  # amortised: rebuilt rarely
            self.settle()
        return out, len(new)

    def settle(self) -> None:
        """Move the recent codes into the sorted array (lookups there are vectorised)."""
        known, ids, recent = self._state
        merged = np.concatenate([known, np.fromiter(recent, np.int64, len(recent))])
        merged_ids = np.concatenate([ids, np.fromiter(recent.values(), np.int64, len(recent))])
        order = np.argsort(merged)
        self._state = (merged[order], merged_ids[order], {})


class Vocabulary:
    """Dense term ids; per word, its first and last Chinese character and the ids inside it."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}  # words
        self.chars = np.full(HAN_LAST - HAN_FIRST + 1, -1, dtype=np.int64)  # by code point
        self.bigrams = BigramIds()
        self.size = 0
        self.views = np.zeros(1024, dtype=np.uint8)  # per id (capacity doubles)
        # word id -> (first, last character's code or -1, ids of its bigrams and characters)
        self._inside: dict[int, tuple[int, int, tuple[int, ...]]] = {}

    def _char(self, ch: str) -> int:
        at = ord(ch) - HAN_FIRST
        if self.chars[at] < 0:
            self.chars[at] = self.size
            self._added(1, CHAR)
        return int(self.chars[at])

    def _added(self, count: int, view: int) -> None:
        if self.size + count > len(self.views):
            grown = np.zeros(2 * (self.size + count), dtype=np.uint8)
            grown[: self.size] = self.views[: self.size]
            self.views = grown
        self.views[self.size : self.size + count] = view
        self.size += count

    def words(self, tokens: list[str]) -> I64:
        """The ids of these words, adding new ones (and what is inside them)."""
        ids = np.fromiter(map(self.ids.get, tokens, repeat(-1)), np.int64, len(tokens))
        missing = np.flatnonzero(ids < 0).tolist()
        if not missing:
            return ids
        new = list(dict.fromkeys(tokens[i] for i in missing))
        codes = [[ord(p[0]) << 21 | ord(p[1]) for p in inner_bigrams(t)] for t in new]
        flat = np.array(list(chain.from_iterable(codes)), dtype=np.int64)
        pair_ids = iter(self._pairs(flat).tolist())
        for token, token_codes in zip(new, codes, strict=True):
            bigrams = tuple(next(pair_ids) for _ in token_codes)
            chars = tuple(self._char(ch) for ch in token if is_han(ch))
            found = self.ids[token] = self.size
            self._added(1, WORD)
            edges = [ord(ch) if is_han(ch) else -1 for ch in (token[0], token[-1])]
            self._inside[found] = (edges[0], edges[1], bigrams + chars)
        ids[missing] = [self.ids[tokens[i]] for i in missing]
        return ids

    def _pairs(self, codes: I64) -> I64:
        """Ids of bigrams by code (any codes, repeats allowed), adding new ones."""
        distinct, inverse = np.unique(codes, return_inverse=True)
        ids, added = self.bigrams.add(distinct, self.size)
        self._added(added, BIGRAM)
        return ids[inverse.ravel()]

    def encode(self, docs: Sequence[Mapping[str, list[str]]]) -> tuple[sp.csr_matrix, F64]:
        """Each document's field-weighted term counts (a row each, duplicates summed) and its
        length in each view (the sum of its counts there). Vectorised over the documents."""
        flat: list[str] = []
        sizes: list[int] = []
        weights: list[float] = []
        owners: list[int] = []
        for i, doc in enumerate(docs):
            for field, items in doc.items():
                if items:
                    flat.extend(items)
                    sizes.append(len(items))
                    weights.append(FIELD_WEIGHTS.get(field, 1.0))
                    owners.append(i)
        words = self.words(flat)
        del flat
        owner = np.repeat(np.array(owners, np.int64), sizes)
        weight = np.repeat(np.array(weights), sizes)
        run = np.repeat(np.arange(len(sizes)), sizes)  # the field occurrence each token is in
        if len(words) * 16 < self.size:  # a few documents: sort their words
            distinct, of = np.unique(words, return_inverse=True)
        else:  # many: linear in the vocabulary, where np.unique sorts
            present = np.zeros(self.size, dtype=np.bool_)
            present[words] = True
            distinct, of = np.flatnonzero(present), (np.cumsum(present) - 1)[words]
        inside = [self._inside[w] for w in distinct.tolist()]
        first = np.array([i[0] for i in inside], np.int64).reshape(-1)
        last = np.array([i[1] for i in inside], np.int64).reshape(-1)
        sub_ids = np.fromiter(chain.from_iterable(i[2] for i in inside), np.int64)
        sub_sizes = np.array([len(i[2]) for i in inside], np.int64).reshape(-1)
        counts = sub_sizes[of]
        at = ranges((np.cumsum(sub_sizes) - sub_sizes)[of], counts)
        left, right = last[of[:-1]], first[of[1:]]
        joined = np.flatnonzero((left >= 0) & (right >= 0) & (run[:-1] == run[1:]))
        pairs = self._pairs((left[joined] << 21) | right[joined])
        rows = np.concatenate([owner, np.repeat(owner, counts), owner[joined]])
        terms = np.concatenate([words, sub_ids[at], pairs])
        tf = np.concatenate([weight, np.repeat(weight, counts), weight[joined]])
        cells = rows * 3 + self.views[terms]
        lengths = np.bincount(cells, tf, 3 * len(docs)).astype(np.float64)
        matrix = sp.csr_matrix(
            (tf.astype(np.float32), (rows.astype(np.int32), terms.astype(np.int32))),
            shape=(len(docs), max(self.size, 1)),
        )
        matrix.sum_duplicates()
        return matrix, lengths.reshape(-1, 3)


def inner_bigrams(token: str) -> Iterable[str]:
    """The pairs of adjacent Chinese characters inside a word."""
    return (
        token[i : i + 2] for i in range(len(token) - 1) if is_han(token[i]) and is_han(token[i + 1])
    )


def ranges(starts: I64, counts: I64) -> I64:
    """``concatenate([arange(s, s + c) for s, c in zip(starts, counts)])``, vectorised."""
    ends = np.cumsum(counts)
    return np.repeat(starts - ends + counts, counts) + np.arange(int(ends[-1]) if len(ends) else 0)
