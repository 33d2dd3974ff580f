"""Normalisation, segmentation with the domain dictionary, synonyms and jieba equality."""

from __future__ import annotations

import threading

import pytest

from app.matching.features import analyze, analyze_many, merge_tokens
from app.matching.segment import JiebaSegmenter
from app.matching.text import Tokenizer, normalize


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer()


def test_normalize_folds_full_width_and_case() -> None:
    assert normalize("ＡＢＣ１２３　Ｘ") == "abc123 x"


def test_domain_dictionary_keeps_industry_terms_whole(tokenizer: Tokenizer) -> None:
    tokens = tokenizer.tokenize("大尺寸晶体生长用热解氮化硼坩埚的研制及产业化")
    assert "热解氮化硼坩埚" in tokens
    assert "光电瞄准吊舱" in tokenizer.tokenize("引进光电瞄准吊舱项目")


def test_stopwords_punctuation_and_bare_numbers_are_dropped(tokenizer: Tokenizer) -> None:
    tokens = tokenizer.tokenize("我们的目标是在2025年，研发3个新产品。")
    assert "的" not in tokens
    assert "，" not in tokens
    assert "2025" not in tokens
    assert "研发" in tokens


def test_numbers_stay_with_their_units(tokenizer: Tokenizer) -> None:
    tokens = tokenizer.tokenize("厚度3.5mm的钢板，年产10万吨，精度０.５ｍｍ")
    assert "3.5mm" in tokens
    assert "0.5mm" in tokens


def test_runtime_terms_and_synonyms() -> None:
    text = "新型量子点膜片的制备"
    assert "量子点膜片" not in Tokenizer(use_domain_dictionary=False).tokenize(text)
    tokenizer = Tokenizer(["量子点膜片"], use_domain_dictionary=False)
    assert "量子点膜片" in tokenizer.tokenize(text)
    tokenizer.set_synonyms({"PBN坩埚": "热解氮化硼坩埚"})
    assert tokenizer.tokenize("PBN坩埚") == ["热解氮化硼坩埚"]


def test_fast_segmenter_equals_jieba_with_dictionary() -> None:
    segmenter = JiebaSegmenter(["热解氮化硼坩埚", "5g基站", "cf53"])
    texts = [
        "大尺寸晶体生长用热解氮化硼坩埚的研制",
        "auth-username与e-mail地址,3.5mm厚,v1-2版本",
        "采用sio2薄膜和c++语言开发5g基站,汽车球笼用钢cf53研发",
        "相中abc的x_y+z#w&v%u 以及 1号店\r\n江南style",
    ]
    for text in texts:
        assert segmenter.cut(text) == segmenter.reference_cut(text)


def test_analyze_is_json_ready_and_merges(tokenizer: Tokenizer) -> None:
    doc = analyze({"title": "杂粮深加工", "description": "小米食品", "other": "谷子"}, tokenizer)
    assert doc == {"title": ["杂粮深加工"], "description": ["小米", "食品", "谷子"]}
    merged = merge_tokens([doc, {"tags": ["高粱"]}])
    assert merged["tags"] == ["高粱"]
    assert merged["title"] == ["杂粮深加工"]


def test_bulk_tokenize_on_two_processes_gives_the_same_tokens() -> None:
    tokenizer = Tokenizer(["量子点膜片"], {"PBN坩埚": "热解氮化硼坩埚"})
    texts = [f"第{i}批新型量子点膜片与PBN坩埚，auth-username 3.5mm" for i in range(300)]
    assert tokenizer.tokenize_many(texts, processes=2, chunksize=16) == [
        tokenizer.tokenize(t) for t in texts
    ]
    fields = [{"title": "杂粮深加工", "description": t, "other": "谷子"} for t in texts[:140]]
    assert analyze_many(fields, tokenizer) == [analyze(f, tokenizer) for f in fields]


def test_bulk_tokenize_spawns_workers_when_other_threads_run() -> None:
    tokenizer = Tokenizer(["量子点膜片"])
    texts = [f"第{i}批新型量子点膜片，热解氮化硼坩埚" for i in range(130)]
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        pooled = tokenizer.tokenize_many(texts, processes=2, chunksize=32)
    finally:
        release.set()
        other.join()
    assert pooled == [tokenizer.tokenize(t) for t in texts]
