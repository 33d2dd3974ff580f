"""`q` search: the same substring match on SQLite (LIKE) and PostgreSQL (the bigram index).

Run on both: the PostgreSQL statement is the indexed one (app/services/search.py), and these
tests hold it to the LIKE's answers.
"""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.models import Challenge, OrganizationKind, User
from app.services.challenges import challenges_query
from app.services.pagination import paginate
from app.services.search import checked_row_by_row, prefer_search_index, text_contains
from tests.factories import headers, make_capability, make_challenge, make_result, make_user

URL = "/api/v1/challenges"


@pytest.fixture
def owner(session: Session) -> User:
    return make_user(session)


def found(client: TestClient, q: str, user: User | None = None, **params: Any) -> list[int]:
    r = client.get(
        URL, params={"limit": 100, "q": q, **params}, headers=headers(user) if user else {}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    ids = [item["id"] for item in body["items"]]
    assert body["total"] == len(ids) or body["total"] > 100
    return ids


def test_two_character_chinese_terms_in_title_and_in_description(
    client: TestClient, session: Session, owner: User
) -> None:
    steel = make_challenge(session, owner=owner, title="特种钢铁冶炼", description="降低能耗")
    grain = make_challenge(session, owner=owner, title="杂粮加工", description="提高钢铁料利用")
    other = make_challenge(session, owner=owner, title="米粉抗回生", description="即食米粉工艺")
    assert found(client, "钢铁") == [grain.id, steel.id]
    assert found(client, "米粉") == [other.id]
    assert found(client, "能耗") == [steel.id]
    # Several terms of two characters, one after another: each its own answer (the statement's
    # compiled form is cached, its parameters are not).
    assert found(client, "杂粮") == [grain.id]
    assert found(client, "回生") == [other.id]


def test_longer_terms_and_single_characters(
    client: TestClient, session: Session, owner: User
) -> None:
    crucible = make_challenge(session, owner=owner, title="高纯热解氮化硼坩埚", description="纯度")
    coating = make_challenge(
        session, owner=owner, title="碳化硅涂层", description="化学气相沉积氮化硅"
    )
    assert found(client, "热解氮化硼") == [crucible.id]
    assert found(client, "化学气相沉积") == [coating.id]
    # Every bigram of 氮化硅 is somewhere in the crucible too (氮化, 化硅? no: only 氮化), and
    # in the coating; only the coating holds the whole term.
    assert found(client, "氮化硅") == [coating.id]
    assert found(client, "氮化") == [coating.id, crucible.id]
    assert found(client, "硼") == [crucible.id]
    assert found(client, "化") == [coating.id, crucible.id]


@pytest.mark.parametrize("q", ["鲸鱼", "量子纠缠", "鲸", "坩埚涂层"])
def test_terms_with_no_hit(client: TestClient, session: Session, owner: User, q: str) -> None:
    make_challenge(session, owner=owner, title="高纯热解氮化硼坩埚", description="碳化硅涂层")
    r = client.get(URL, params={"q": q})
    assert r.status_code == 200
    assert r.json()["items"] == []
    assert r.json()["total"] == 0


def test_a_term_never_spans_title_and_description(
    client: TestClient, session: Session, owner: User
) -> None:
    make_challenge(session, owner=owner, title="特种钢", description="铁水预处理")
    assert found(client, "钢铁") == []
    assert found(client, "种钢铁水") == []


def test_case_is_folded_and_wildcards_are_literal(
    client: TestClient, session: Session, owner: User
) -> None:
    pbn = make_challenge(session, owner=owner, title="PBN 坩埚", description="纯度 5% 以上")
    make_challenge(session, owner=owner, title="普通标题", description="普通描述")
    assert found(client, "pbn") == [pbn.id]
    assert found(client, "Pb") == [pbn.id]
    assert found(client, "5%") == [pbn.id]
    assert found(client, "%") == [pbn.id]
    assert found(client, "_%") == []
    assert found(client, "5_") == []


def test_a_write_is_found_by_the_very_next_request(client: TestClient, owner: User) -> None:
    body = {
        "title": "尾矿综合利用",
        "description": "铁尾矿制备建材",
        "indicators": [],
        "sector": "industry",
        "budget": "100",
        "deadline": "2099-03-31T17:00:00+08:00",
        "region": "211302",
    }
    created = client.post(URL, json=body, headers=headers(owner))
    assert created.status_code == 201, created.text
    challenge_id = created.json()["id"]
    assert found(client, "尾矿", owner) == [challenge_id]
    assert found(client, "建材", owner) == [challenge_id]
    edited = client.patch(
        f"{URL}/{challenge_id}", json={"description": "钢渣微粉"}, headers=headers(owner)
    )
    assert edited.status_code == 200, edited.text
    assert found(client, "建材", owner) == []
    assert found(client, "钢渣", owner) == [challenge_id]
    # Still a draft: nobody else finds it.
    assert found(client, "钢渣") == []


def test_search_with_filters_counts_and_offsets(
    client: TestClient, session: Session, owner: User
) -> None:
    ids = [
        make_challenge(session, owner=owner, title=f"钢铁工艺{i}", description="描述").id
        for i in range(7)
    ]
    make_challenge(session, owner=owner, title="杂粮", description="描述")
    newest_first = ids[::-1]
    page = client.get(URL, params={"q": "钢铁", "limit": 3, "offset": 2}).json()
    assert page["total"] == 7
    assert [i["id"] for i in page["items"]] == newest_first[2:5]
    beyond = client.get(URL, params={"q": "钢铁", "limit": 3, "offset": 7}).json()
    assert beyond == {**beyond, "items": [], "total": 7}
    assert found(client, "钢铁", sector="agriculture") == []
    assert found(client, "钢铁", region="211302") == newest_first


@pytest.mark.parametrize(
    ("path", "factory"), [("capabilities", make_capability), ("results", make_result)]
)
def test_offerings_search_two_characters_and_more(
    client: TestClient, session: Session, path: str, factory: Any
) -> None:
    owner = make_user(session, kind=OrganizationKind.university)
    first = factory(session, owner=owner, title="钢铁冶金团队", description="洁净钢")
    second = factory(session, owner=owner, title="食品保鲜", description="杂粮加工与钢铁无关")
    url = f"/api/v1/{path}"
    items = client.get(url, params={"q": "钢铁"}).json()
    assert ([i["id"] for i in items["items"]], items["total"]) == ([second.id, first.id], 2)
    assert client.get(url, params={"q": "洁净钢"}).json()["total"] == 1
    assert client.get(url, params={"q": "鲸鱼"}).json()["total"] == 0


def _sql(q: str, dialect: Any) -> str:
    stmt = select(Challenge.id).where(text_contains(Challenge.title, Challenge.description, q))
    return str(stmt.compile(dialect=dialect))


def test_postgresql_asks_the_index_and_sqlite_the_like() -> None:
    pg, lite = postgresql.dialect(), sqlite.dialect()  # type: ignore[no-untyped-call]
    assert "search_grams" in _sql("钢铁", pg)
    assert "LIKE" not in _sql("钢铁", pg)
    assert "search_grams" in _sql("洁净钢", pg)
    assert "LIKE" in _sql("洁净钢", pg)
    assert "search_grams" not in _sql("钢", pg)
    for q in ("钢", "钢铁", "洁净钢"):
        assert "search_grams" not in _sql(q, lite)
        assert "LIKE" in _sql(q, lite)


@pytest.mark.parametrize("q", ["钢铁工", "钢"])
def test_counts_and_offsets_of_a_text_checked_row_by_row(
    client: TestClient, session: Session, owner: User, q: str
) -> None:
    """Three characters or one: the total and the page's ids come from one statement."""
    assert checked_row_by_row(q)
    ids = [
        make_challenge(session, owner=owner, title=f"钢铁工艺{i}", description="描述").id
        for i in range(7)
    ]
    make_challenge(session, owner=owner, title="杂粮", description="描述")
    newest_first = ids[::-1]
    page = client.get(URL, params={"q": q, "limit": 3, "offset": 2}).json()
    assert page["total"] == 7
    assert [i["id"] for i in page["items"]] == newest_first[2:5]
    last = client.get(URL, params={"q": q, "limit": 3, "offset": 6}).json()
    assert ([i["id"] for i in last["items"]], last["total"]) == (newest_first[6:], 7)
    beyond = client.get(URL, params={"q": q, "limit": 3, "offset": 7}).json()
    assert beyond == {**beyond, "items": [], "total": 7}
    assert found(client, q, sector="agriculture") == []


def test_paginate_in_one_pass_matches_two_passes(session: Session, owner: User) -> None:
    for i in range(5):
        make_challenge(session, owner=owner, title=f"洁净钢{i}", description="描述")
    stmt = challenges_query(None, q="洁净钢")
    for offset in (0, 2, 4, 5, 9):
        one = paginate(session, stmt, limit=2, offset=offset, one_pass=True)
        two = paginate(session, stmt, limit=2, offset=offset)
        assert ([c.id for c in one[0]], one[1]) == ([c.id for c in two[0]], two[1])


def test_a_search_sets_aside_sequential_scans_on_postgresql(session: Session) -> None:
    postgres = session.get_bind().dialect.name == "postgresql"
    prefer_search_index(session, "钢")  # one character: no index to prefer
    if postgres:
        assert session.execute(text("SHOW enable_seqscan")).scalar_one() == "on"
    prefer_search_index(session, "钢铁")
    if postgres:
        assert session.execute(text("SHOW enable_seqscan")).scalar_one() == "off"
    assert not checked_row_by_row("钢铁")
    assert not checked_row_by_row(None)
