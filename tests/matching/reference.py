"""The ranking, written plainly: every document scored against every kept query term; a
document that shares no word or bigram with the query is not returned.

The index must return exactly this top-k (ties by key). Written from the method's
description (docs/matching.md), sharing no code with app/matching but FIELD_WEIGHTS.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from app.matching.features import FIELD_WEIGHTS

K1, B = 1.2, 0.75
VIEW_WEIGHTS = (1.0, 0.5, 0.5)
IDF_PRIOR_DOCS = 100
Term = tuple[int, str]  # (view: 0 words, 1 bigrams, 2 characters; text)


def han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


@dataclass
class Features:
    counts: dict[Term, float]
    lengths: list[float]


def features(doc: Mapping[str, Sequence[str]]) -> Features:
    """Field-weighted counts of words, bigrams (inside words and across adjacent words of a
    field) and characters, and the length of each view."""
    counts: dict[Term, float] = defaultdict(float)
    for field, tokens in doc.items():
        weight = FIELD_WEIGHTS.get(field, 1.0)
        for token in tokens:
            counts[0, token] += weight
            for a, b in pairwise(token):
                if han(a) and han(b):
                    counts[1, a + b] += weight
            for ch in token:
                if han(ch):
                    counts[2, ch] += weight
        for left, right in pairwise(tokens):
            if left and right and han(left[-1]) and han(right[0]):
                counts[1, left[-1] + right[0]] += weight
    lengths = [0.0, 0.0, 0.0]
    for (view, _), count in counts.items():
        lengths[view] += count
    return Features(dict(counts), lengths)


def document_frequencies(statistics: Sequence[Features]) -> dict[Term, int]:
    df: dict[Term, int] = defaultdict(int)
    for doc in statistics:
        for term in doc.counts:
            df[term] += 1
    return df


def bm25(count: float, length: float, average: float) -> float:
    return count * (K1 + 1) / (count + K1 * (1 - B + B * length / average))


@dataclass
class Ranked:
    key: str
    score: float  # displayed: raw / self score, capped at 1
    raw: float


def search(
    statistics: Sequence[Features],
    documents: Mapping[str, tuple[Features, Any]],
    query: Mapping[str, Sequence[str]],
    averages: Sequence[float],
    *,
    limit: int = 10,
    where: Callable[[Any], bool] | None = None,
    terms_per_view: int | None = 64,
    df: Mapping[Term, int] | None = None,
) -> list[Ranked]:
    """The top ``limit`` of ``documents`` (key -> features, meta), with N and document
    frequencies taken over ``statistics`` (``df``: already counted), and these average
    lengths per view."""
    n = len(statistics)
    if not n:
        return []
    df = document_frequencies(statistics) if df is None else df
    q = features(query)
    weight = {}
    for term, count in q.counts.items():
        held_by = df.get(term, 0)
        idf = math.log(1 + (n + IDF_PRIOR_DOCS - held_by + 0.5) / (held_by + 0.5))
        tf_weight = 1 + math.log(count) if count >= 1 else count
        weight[term] = tf_weight * idf * VIEW_WEIGHTS[term[0]]
    kept = []
    for view in range(3):
        held = sorted(
            (t for t in q.counts if t[0] == view and df.get(t, 0) > 0),
            key=lambda t: (-weight[t], t[1]),
        )
        kept += held if terms_per_view is None else held[:terms_per_view]
    if not kept:
        return []
    unseen = [t for t in q.counts if df.get(t, 0) == 0]
    self_score = sum(
        weight[t] * bm25(q.counts[t], q.lengths[t[0]], averages[t[0]]) for t in kept + unseen
    )
    ranked = []
    for key, (doc, meta) in documents.items():
        raw = sum(
            weight[t] * bm25(doc.counts[t], doc.lengths[t[0]], averages[t[0]])
            for t in kept
            if t in doc.counts
        )
        evidence = any(t in doc.counts for t in kept if t[0] != 2)  # a word or a bigram
        if raw > 0 and evidence and (where is None or where(meta)):
            ranked.append(Ranked(key, min(1.0, raw / self_score), raw))
    ranked.sort(key=lambda r: (-r.raw, r.key))
    return ranked[:limit]
