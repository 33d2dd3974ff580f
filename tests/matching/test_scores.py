"""Score calibration: a score is the share of the query's own score, whatever the index size.

The self score counts every query term (words, bigrams and chars), including the terms no
document of the index contains, so a long query that shares one common word with a document
scores low even in a tiny index, and scores from two indexes (capabilities and results, which
the service merges to rank organisations) can be compared.
"""

from __future__ import annotations

import pytest

from app.matching.features import DocTokens, analyze
from app.matching.index import MatchIndex
from app.matching.text import Tokenizer

DOC = "热解氮化硼坩埚的化学气相沉积工艺优化"
LONG_QUERY = "大尺寸晶体生长用热解氮化硼坩埚的研制，化学气相沉积工艺优化，纯度不足导致开裂"
ONE_COMMON_WORD = "杂粮深加工即食产品保鲜，淀粉回生抑制工艺"
OTHERS = ["汽车球笼用钢夹杂物控制，洁净钢冶炼与连铸", "光电瞄准吊舱的红外成像与稳定平台"]


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer()


def tokens(tokenizer: Tokenizer, text: str) -> DocTokens:
    return analyze({"description": text}, tokenizer)


def index_of(tokenizer: Tokenizer, n_others: int) -> MatchIndex:
    index = MatchIndex()
    index.upsert("doc", tokens(tokenizer, DOC), {})
    for i, text in enumerate(OTHERS[:n_others]):
        index.upsert(f"other{i}", tokens(tokenizer, text), {})
    return index


def score(index: MatchIndex, query: DocTokens) -> float:
    matches = {m.key: m.score for m in index.search(query)}
    return matches.get("doc", 0.0)


@pytest.mark.parametrize("n_others", [0, 1, 2])
def test_one_shared_common_word_scores_low_in_a_tiny_index(
    tokenizer: Tokenizer, n_others: int
) -> None:
    index = index_of(tokenizer, n_others)
    value = score(index, tokens(tokenizer, ONE_COMMON_WORD))
    assert 0.0 < value < 0.2


@pytest.mark.parametrize("n_others", [0, 2])
def test_identical_document_scores_about_one(tokenizer: Tokenizer, n_others: int) -> None:
    assert score(index_of(tokenizer, n_others), tokens(tokenizer, DOC)) == pytest.approx(
        1.0, abs=0.02
    )


def test_same_pair_scores_alike_in_indexes_of_different_sizes(tokenizer: Tokenizer) -> None:
    query = tokens(tokenizer, LONG_QUERY)
    small = score(index_of(tokenizer, 0), query)
    larger = index_of(tokenizer, 2)
    for i in range(20):  # unrelated documents: the pair's score must barely move
        larger.upsert(f"filler{i}", tokens(tokenizer, f"{OTHERS[i % 2]}第{i}批"), {})
    assert 0.3 < small < 0.9
    assert score(larger, query) == pytest.approx(small, abs=0.05)
    larger.compact()  # the base and the delta agree
    assert score(larger, query) == pytest.approx(small, abs=0.05)


def test_partial_overlap_scores_between_nothing_and_identity(tokenizer: Tokenizer) -> None:
    index = index_of(tokenizer, 2)
    same = score(index, tokens(tokenizer, DOC))
    partial = score(index, tokens(tokenizer, LONG_QUERY))
    weak = score(index, tokens(tokenizer, ONE_COMMON_WORD))
    assert 0.0 < weak < partial < same <= 1.0


def test_scores_are_in_the_unit_interval(tokenizer: Tokenizer) -> None:
    index = index_of(tokenizer, 2)
    for text in (DOC, LONG_QUERY, ONE_COMMON_WORD, OTHERS[0], DOC + DOC + "坩埚"):
        for match in index.search(tokens(tokenizer, text), limit=5):
            assert 0.0 < match.score <= 1.0
