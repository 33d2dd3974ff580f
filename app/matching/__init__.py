"""Matching: jieba tokens, BM25 over words, bigrams and characters (numpy, scipy)."""

from app.matching.features import FIELD_WEIGHTS, DocTokens, analyze, analyze_many, merge_tokens
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
    "analyze_many",
    "merge_tokens",
]
