"""Ranking, explanations, incremental writes and filters of MatchIndex on small Chinese texts."""

from __future__ import annotations

import platform
import threading

import pytest

from app.matching import index as index_module
from app.matching.features import DocTokens, analyze
from app.matching.index import MatchIndex
from app.matching.text import Tokenizer

DOCS = {
    "pbn": (
        "热解氮化硼坩埚",
        "大尺寸晶体生长用热解氮化硼坩埚的研制及产业化,高纯氮化硼涂层",
        "材料",
    ),
    "steel": ("汽车球笼用钢", "汽车球笼用钢Cf53研发,特种钢冶炼与热处理工艺", "冶金"),
    "grain": ("杂粮深加工", "杂粮深加工技术,小米和高粱食品开发,农产品精深加工", "农业"),
    "pod": ("光电瞄准吊舱", "光电瞄准吊舱的红外成像与稳定平台,激光测距", "电子"),
    "crucible": ("石英坩埚", "单晶硅生长用石英坩埚的涂层工艺", "材料"),
}


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer()


def tokens(tokenizer: Tokenizer, text: str) -> DocTokens:
    return analyze({"description": text}, tokenizer)


def build(tokenizer: Tokenizer, *, bulk: bool) -> MatchIndex:
    index = MatchIndex()
    items = [
        (key, analyze({"title": t, "description": d}, tokenizer), {"sector": s, "org": key})
        for key, (t, d, s) in DOCS.items()
    ]
    if bulk:
        index.bulk_load(items)
    else:
        for item in items:
            index.upsert(*item)
    return index


@pytest.mark.parametrize("bulk", [True, False])
def test_ranks_the_matching_document_first(tokenizer: Tokenizer, bulk: bool) -> None:
    index = build(tokenizer, bulk=bulk)
    matches = index.search(tokens(tokenizer, "氮化硼坩埚的研制"))
    assert [m.key for m in matches][:2] == ["pbn", "crucible"]
    assert all(0.0 < m.score <= 1.0 for m in matches)
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)


def test_writes_and_a_bulk_load_give_the_same_ranking(tokenizer: Tokenizer) -> None:
    query = tokens(tokenizer, "杂粮食品深加工和高粱")
    written = build(tokenizer, bulk=False).search(query)
    loaded = build(tokenizer, bulk=True).search(query)
    # The same documents held: the same statistics, the same answer.
    assert [(m.key, m.score, m.terms) for m in written] == [
        (m.key, m.score, m.terms) for m in loaded
    ]


def test_explanation_names_the_shared_words(tokenizer: Tokenizer) -> None:
    index = build(tokenizer, bulk=True)
    best = index.search(tokens(tokenizer, "红外成像吊舱"))[0]
    assert best.key == "pod"
    words = dict(best.terms)
    assert "红外" in words
    assert "成像" in words
    assert sum(words.values()) == pytest.approx(1.0, abs=0.01)


def test_explanation_ties_are_broken_by_the_words_text() -> None:
    words = ["zeta", "eta", "alpha", "kappa", "beta", "iota", "gamma", "theta", "delta", "mu"]
    index = MatchIndex()
    index.upsert("d", {"description": sorted(words)}, None)
    (match,) = index.search({"description": words}, limit=1)
    # Ten words with equal shares: the eight first by text, whatever their order in the query.
    assert [word for word, _ in match.terms] == sorted(words)[:8]
    assert {share for _, share in match.terms} == {0.1}


def test_add_edit_delete_change_the_next_answer(tokenizer: Tokenizer) -> None:
    index = build(tokenizer, bulk=True)
    query = tokens(tokenizer, "锂离子电池正极材料")
    assert index.search(query) == [] or index.search(query)[0].key != "battery"
    index.upsert("battery", tokens(tokenizer, "锂离子电池正极材料的制备"), {"sector": "能源"})
    assert index.search(query)[0].key == "battery"
    index.upsert("battery", tokens(tokenizer, "风力发电机组的叶片"), {"sector": "能源"})
    # Only the character 电 is shared now: the old text no longer counts.
    assert all(m.key != "battery" or m.score < 0.05 for m in index.search(query))
    index.upsert("pbn", tokens(tokenizer, "锂离子电池负极"), {"sector": "材料"})
    assert index.search(query)[0].key == "pbn"
    assert index.remove("pbn")
    assert not index.remove("pbn")
    assert all(m.key != "pbn" for m in index.search(query))
    assert len(index) == len(DOCS)


def test_compact_keeps_answers(tokenizer: Tokenizer) -> None:
    index = build(tokenizer, bulk=True)
    index.upsert("battery", tokens(tokenizer, "锂离子电池正极材料的制备"), {})
    index.remove("steel")
    query = tokens(tokenizer, "材料制备与坩埚涂层")
    before = [(m.key, round(m.score, 5)) for m in index.search(query)]
    index.compact()
    after = [(m.key, round(m.score, 5)) for m in index.search(query)]
    assert [k for k, _ in before] == [k for k, _ in after]


def test_filter_excludes_own_organisation_and_still_fills_the_limit(tokenizer: Tokenizer) -> None:
    index = MatchIndex()
    for i in range(40):
        org = "self" if i < 30 else "other"
        index.upsert(f"d{i}", tokens(tokenizer, f"坩埚涂层工艺{'研究' * (i % 3)}"), {"org": org})
    matches = index.search(
        tokens(tokenizer, "坩埚涂层"), limit=5, where=lambda m: m["org"] != "self"
    )
    assert len(matches) == 5
    assert all(int(m.key[1:]) >= 30 for m in matches)
    sector = index.search(tokens(tokenizer, "坩埚"), limit=50, where=lambda m: m["org"] == "x")
    assert sector == []


def test_unknown_query_returns_nothing(tokenizer: Tokenizer) -> None:
    index = build(tokenizer, bulk=True)
    assert index.search(tokens(tokenizer, "量子纠缠通信")) == []
    assert index.search({}) == []
    assert MatchIndex().search(tokens(tokenizer, "坩埚")) == []


def test_concurrent_search_and_upsert(tokenizer: Tokenizer) -> None:
    index = build(tokenizer, bulk=True)
    query = tokens(tokenizer, "坩埚")
    doc = tokens(tokenizer, "坩埚的制备")
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for i in range(200):
                index.upsert(f"w{i % 20}", doc, {})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    for _ in range(200):
        index.search(query)
    thread.join()
    assert not errors
    assert len(index) == len(DOCS) + 20


def test_empty_and_repeated_bulk_loads(tokenizer: Tokenizer) -> None:
    index = MatchIndex()
    index.bulk_load([])
    assert len(index) == 0
    assert index.search(tokens(tokenizer, "坩埚")) == []
    items = [
        (key, analyze({"title": t, "description": d}, tokenizer), {})
        for key, (t, d, _) in DOCS.items()
    ]
    index.bulk_load(items[:3])
    index.upsert("x", tokens(tokenizer, "石英坩埚涂层"), {})
    assert "x" in [m.key for m in index.search(tokens(tokenizer, "坩埚"))]
    index.bulk_load(items[2:] + items[2:3])  # replaces keys, including twice in one call
    assert len(index) == len(DOCS) + 1
    fresh = MatchIndex()
    fresh.bulk_load(items[:3])
    fresh.bulk_load([*items[3:], ("x", tokens(tokenizer, "石英坩埚涂层"), {})])
    query = tokens(tokenizer, "坩埚涂层的研制")
    got, want = index.search(query), fresh.search(query)
    assert [m.key for m in got] == [m.key for m in want]
    assert [m.score for m in got] == pytest.approx([m.score for m in want], rel=1e-9)


def test_a_load_hands_the_heap_it_freed_back(monkeypatch: pytest.MonkeyPatch) -> None:
    if platform.libc_ver()[0] == "glibc":
        assert index_module.MALLOC_TRIM is not None
    calls: list[int] = []
    monkeypatch.setattr(index_module, "MALLOC_TRIM", calls.append)
    index = MatchIndex()
    index.bulk_load([("a", {"description": ["坩埚"]}, None)])
    assert calls == [0]
    index.upsert("b", {"description": ["坩埚"]}, None)  # a write frees little: no call
    assert calls == [0]


def test_searches_while_another_thread_writes(tokenizer: Tokenizer) -> None:
    index = MatchIndex()
    texts = ["坩埚涂层工艺", "杂粮深加工", "汽车球笼用钢", "光电瞄准吊舱", "石英坩埚的制备"]
    docs = [tokens(tokenizer, f"{texts[i % 5]}第{i}号") for i in range(40)]
    query = tokens(tokenizer, "坩埚涂层")
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for round_ in range(6):
                for i in range(40):
                    index.upsert(f"d{i}", docs[(i + round_) % 40], {})
                index.remove(f"d{round_}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    while thread.is_alive():
        for match in index.search(query, limit=5):
            assert 0.0 < match.score <= 1.0
    thread.join()
    assert not errors
    expected = MatchIndex()
    expected.bulk_load((f"d{i}", docs[(i + 5) % 40], {}) for i in range(40) if i != 5)
    index.compact()
    assert len(index) == len(expected) == 39
    got, want = index.search(query, limit=10), expected.search(query, limit=10)
    assert [m.key for m in got] == [m.key for m in want]
    assert [m.score for m in got] == pytest.approx([m.score for m in want], abs=0.05)


def test_many_dead_documents_are_compacted_away(
    tokenizer: Tokenizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.matching.index as index_module

    monkeypatch.setattr(index_module, "COMPACT_MIN_DEAD", 10)
    index = build(tokenizer, bulk=True)
    for i in range(30):
        index.upsert("edited", tokens(tokenizer, f"坩埚涂层第{i}版"), {})
    snapshot = index._snapshot
    assert len(snapshot.alive) - int(snapshot.alive.sum()) <= 10  # versions dropped
    assert len(index) == len(DOCS) + 1
    assert index.search(tokens(tokenizer, "坩埚涂层第29版"))[0].key == "edited"
