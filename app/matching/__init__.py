"""Matching engine: jieba tokens, field-weighted BM25 over words and character bigrams.

Pure: the standard library, jieba/rjieba, numpy and scipy only.
"""

from app.matching.features import FIELD_WEIGHTS, DocTokens, analyze, merge_tokens
from app.matching.index import Match, MatchIndex
from app.matching.scoring import DEFAULT_CONFIG, MatchConfig
from app.matching.text import Tokenizer

__all__ = [
    "DEFAULT_CONFIG",
    "FIELD_WEIGHTS",
    "DocTokens",
    "Match",
    "MatchConfig",
    "MatchIndex",
    "Tokenizer",
    "analyze",
    "merge_tokens",
]
