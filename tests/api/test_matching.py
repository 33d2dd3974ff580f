"""Match routes: ranking through the API, permissions, filters, and incremental updates."""

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.models import ChallengeStatus, OrganizationKind, Sector
from tests.factories import (
    headers,
    make_capability,
    make_challenge,
    make_result,
    make_user,
)

PBN = "大尺寸晶体生长用热解氮化硼坩埚的研制，化学气相沉积工艺优化，纯度不足导致开裂"
STEEL = "汽车球笼用钢夹杂物控制，洁净钢冶炼与连铸"
GRAIN = "杂粮深加工即食产品保鲜，淀粉回生抑制"


def _ids(response: object) -> list[int]:
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    return [item["id"] for item in response.json()["items"]]  # type: ignore[attr-defined]


def _world(session: Session) -> dict[str, object]:
    owner = make_user(session)
    uni = make_user(session, kind=OrganizationKind.university)
    inst = make_user(session, kind=OrganizationKind.institute, region="211303")
    challenge = make_challenge(session, owner=owner, title="热解氮化硼坩埚研制", description=PBN)
    ceramics = make_capability(
        session, owner=inst, title="先进陶瓷与化学气相沉积平台", description=PBN
    )
    steel = make_capability(session, owner=uni, title="洁净钢团队", description=STEEL)
    grain = make_result(session, owner=uni, title="杂粮抗回生工艺", description=GRAIN)
    return {
        "owner": owner,
        "uni": uni,
        "inst": inst,
        "challenge": challenge,
        "ceramics": ceramics,
        "steel": steel,
        "grain": grain,
    }


def test_challenge_ranks_the_capability_that_can_solve_it_first(
    client: TestClient, session: Session
) -> None:
    w = _world(session)
    r = client.get(f"/api/v1/challenges/{w['challenge'].id}/matches?target=capabilities")
    ids = _ids(r)
    assert ids[0] == w["ceramics"].id
    top = r.json()["items"][0]
    assert 0 < top["score"] <= 1
    assert top["type"] == "capability"
    assert top["organization_id"] == w["inst"].organization_id
    terms = {t["term"] for t in top["terms"]}
    assert "热解氮化硼坩埚" in terms or "化学气相沉积" in terms
    weights = [t["weight"] for t in top["terms"]]
    assert weights == sorted(weights, reverse=True)
    assert all(w > 0 for w in weights)
    assert 0.5 < sum(weights) <= 1.001  # the main terms' shares of the score


def test_organization_target_groups_offerings_by_organization(
    client: TestClient, session: Session
) -> None:
    w = _world(session)
    r = client.get(f"/api/v1/challenges/{w['challenge'].id}/matches?target=organizations")
    items = r.json()["items"]
    assert items[0]["id"] == w["inst"].organization_id
    assert items[0]["type"] == "organization"
    assert len({i["id"] for i in items}) == len(items)


def test_region_filter_keeps_only_organizations_of_that_county(
    client: TestClient, session: Session
) -> None:
    w = _world(session)
    path = f"/api/v1/challenges/{w['challenge'].id}/matches?target=capabilities&region=211302"
    assert w["ceramics"].id not in _ids(client.get(path))


def test_offering_sees_only_published_challenges_of_others(
    client: TestClient, session: Session
) -> None:
    w = _world(session)
    draft = make_challenge(
        session,
        owner=w["owner"],
        status=ChallengeStatus.draft,
        title="热解氮化硼坩埚草稿",
        description=PBN,
    )
    own = make_challenge(session, owner=w["inst"], title="热解氮化硼坩埚自家", description=PBN)
    ids = _ids(client.get(f"/api/v1/capabilities/{w['ceramics'].id}/matches"))
    assert ids[0] == w["challenge"].id
    assert draft.id not in ids
    assert own.id not in ids


def test_sector_filter_on_challenge_matches(client: TestClient, session: Session) -> None:
    w = _world(session)
    farm = make_challenge(
        session, owner=w["owner"], title="杂粮深加工", description=GRAIN, sector=Sector.agriculture
    )
    path = f"/api/v1/results/{w['grain'].id}/matches"
    assert farm.id in _ids(client.get(path))
    assert farm.id not in _ids(client.get(path + "?sector=industry"))


def test_organization_matches_use_all_its_offerings(client: TestClient, session: Session) -> None:
    w = _world(session)
    steel_challenge = make_challenge(session, owner=w["owner"], title="球笼用钢", description=STEEL)
    ids = _ids(client.get(f"/api/v1/organizations/{w['uni'].organization_id}/matches"))
    assert steel_challenge.id in ids


def test_unverified_organizations_are_never_recommended(
    client: TestClient, session: Session
) -> None:
    w = _world(session)
    shady = make_user(session, kind=OrganizationKind.university, verified=False)
    hidden = make_capability(session, owner=shady, title="热解氮化硼坩埚", description=PBN)
    ids = _ids(client.get(f"/api/v1/challenges/{w['challenge'].id}/matches?target=capabilities"))
    assert hidden.id not in ids


def test_draft_challenge_matches_are_only_for_owner_and_bureau(
    client: TestClient, session: Session
) -> None:
    w = _world(session)
    draft = make_challenge(session, owner=w["owner"], status=ChallengeStatus.draft, description=PBN)
    path = f"/api/v1/challenges/{draft.id}/matches"
    staff = make_user(session, kind=OrganizationKind.bureau)
    assert client.get(path).status_code == 404
    assert client.get(path, headers=headers(w["uni"])).status_code == 404
    assert client.get(path, headers=headers(make_user(session))).status_code == 404
    assert client.get(path, headers=headers(w["owner"])).status_code == 200
    assert client.get(path, headers=headers(staff)).status_code == 200


def test_preview_ranks_unsaved_text_and_needs_sign_in(client: TestClient, session: Session) -> None:
    w = _world(session)
    body = {"text": "热解氮化硼坩埚开裂，求化学气相沉积团队", "target": "capabilities"}
    assert client.post("/api/v1/matching/preview", json=body).status_code == 401
    ids = _ids(client.post("/api/v1/matching/preview", json=body, headers=headers(w["owner"])))
    assert ids[0] == w["ceramics"].id
    body = {"text": PBN, "target": "challenges"}
    own = _ids(client.post("/api/v1/matching/preview", json=body, headers=headers(w["owner"])))
    assert w["challenge"].id not in own  # nobody is recommended its own organisation's items


def test_edit_and_delete_change_the_very_next_answer(client: TestClient, session: Session) -> None:
    w = _world(session)
    path = f"/api/v1/challenges/{w['challenge'].id}/matches?target=capabilities"
    assert w["steel"].id not in _ids(client.get(path))
    r = client.patch(
        f"/api/v1/capabilities/{w['steel'].id}",
        json={"description": PBN + "，热解氮化硼坩埚"},
        headers=headers(w["uni"]),
    )
    assert r.status_code == 200
    assert w["steel"].id in _ids(client.get(path))
    r = client.delete(f"/api/v1/capabilities/{w['ceramics'].id}", headers=headers(w["inst"]))
    assert r.status_code == 204
    assert w["ceramics"].id not in _ids(client.get(path))


def test_publishing_and_closing_change_what_universities_see(
    client: TestClient, session: Session
) -> None:
    w = _world(session)
    path = f"/api/v1/capabilities/{w['ceramics'].id}/matches"
    assert w["challenge"].id in _ids(client.get(path))
    r = client.post(f"/api/v1/challenges/{w['challenge'].id}/close", headers=headers(w["owner"]))
    assert r.status_code == 200
    assert w["challenge"].id not in _ids(client.get(path))


def test_bad_target_and_limit_are_422(client: TestClient, session: Session) -> None:
    w = _world(session)
    base = f"/api/v1/challenges/{w['challenge'].id}/matches"
    assert client.get(base + "?target=nonsense").status_code == 422
    assert client.get(base + "?limit=0").status_code == 422
    assert client.get(base + "?limit=51").status_code == 422
    assert client.get(base + "?target=challenges").status_code == 422


def test_bureau_terms_are_audited_and_resegment_documents(
    client: TestClient, session: Session
) -> None:
    staff = make_user(session, kind=OrganizationKind.bureau)
    owner = make_user(session)
    uni = make_user(session, kind=OrganizationKind.university)
    cap = make_capability(
        session, owner=uni, title="量子点墨水打印", description="量子点墨水打印工艺"
    )
    challenge = make_challenge(session, owner=owner, title="显示面板", description="量子点墨水打印")
    path = f"/api/v1/challenges/{challenge.id}/matches?target=capabilities"
    before = client.get(path).json()["items"][0]["terms"]
    assert "量子点墨水" not in {t["term"] for t in before}

    for who in (None, owner, uni):
        r = client.post(
            "/api/v1/matching/terms",
            json={"term": "量子点墨水"},
            headers=headers(who) if who else {},
        )
        assert r.status_code == (401 if who is None else 403)
    r = client.post("/api/v1/matching/terms", json={"term": "量子点墨水"}, headers=headers(staff))
    assert r.status_code == 201, r.text
    term_id = r.json()["id"]
    assert (
        client.post(
            "/api/v1/matching/terms", json={"term": "量子点墨水"}, headers=headers(staff)
        ).status_code
        == 409
    )

    after = client.get(path).json()["items"]
    assert after[0]["id"] == cap.id
    assert "量子点墨水" in {t["term"] for t in after[0]["terms"]}

    listed = client.get("/api/v1/matching/terms", headers=headers(staff)).json()["items"]
    assert [t["term"] for t in listed] == ["量子点墨水"]
    r = client.delete(f"/api/v1/matching/terms/{term_id}", headers=headers(staff))
    assert r.status_code == 204
    assert "量子点墨水" not in {t["term"] for t in client.get(path).json()["items"][0]["terms"]}
    events = client.get(
        "/api/v1/audit-events?object_type=match_term", headers=headers(staff)
    ).json()["items"]
    assert {e["action"] for e in events} == {"matching.term_add", "matching.term_delete"}


def test_synonym_maps_onto_its_canonical_term(client: TestClient, session: Session) -> None:
    staff = make_user(session, kind=OrganizationKind.bureau)
    owner = make_user(session)
    uni = make_user(session, kind=OrganizationKind.university)
    cap = make_capability(session, owner=uni, title="PBN 坩埚", description="氮化硼坩埚制备")
    challenge = make_challenge(session, owner=owner, title="坩埚", description="热解氮化硼坩埚")
    r = client.post(
        "/api/v1/matching/terms",
        json={"term": "氮化硼坩埚", "canonical": "热解氮化硼坩埚"},
        headers=headers(staff),
    )
    assert r.status_code == 201, r.text
    items = client.get(f"/api/v1/challenges/{challenge.id}/matches?target=capabilities").json()[
        "items"
    ]
    assert items
    assert items[0]["id"] == cap.id
    assert "热解氮化硼坩埚" in {t["term"] for t in items[0]["terms"]}


def test_rebuild_is_bureau_only_and_keeps_answers(client: TestClient, session: Session) -> None:
    w = _world(session)
    staff = make_user(session, kind=OrganizationKind.bureau)
    path = f"/api/v1/challenges/{w['challenge'].id}/matches?target=capabilities"
    before = _ids(client.get(path))
    assert client.post("/api/v1/matching/rebuild", headers=headers(w["owner"])).status_code == 403
    r = client.post("/api/v1/matching/rebuild", headers=headers(staff))
    assert r.status_code == 200
    assert r.json()["documents"] >= 4
    assert _ids(client.get(path)) == before
    events = client.get(
        "/api/v1/audit-events?object_type=match_index", headers=headers(staff)
    ).json()["items"]
    assert events[0]["action"] == "matching.rebuild"


def test_a_deleted_terms_id_is_never_given_again(client: TestClient, session: Session) -> None:
    staff = headers(make_user(session, kind=OrganizationKind.bureau))
    first = client.post("/api/v1/matching/terms", json={"term": "热解氮化硼"}, headers=staff)
    assert first.status_code == 201, first.text
    gone = client.delete(f"/api/v1/matching/terms/{first.json()['id']}", headers=staff)
    assert gone.status_code == 204
    second = client.post("/api/v1/matching/terms", json={"term": "化学气相沉积"}, headers=staff)
    assert second.json()["id"] > first.json()["id"]
