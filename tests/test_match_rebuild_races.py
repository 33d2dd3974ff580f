"""A rebuild of the match documents while people create and edit challenges and capabilities,
through the real server on SQLite and on PostgreSQL: nobody gets a 5xx or a 409, no write is
lost, and every process (the server's, and one loaded before the race here) finds each new
and edited object afterwards.
"""

from dataclasses import dataclass

import httpx2 as httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import get_session_factory
from app.models import Capability, Challenge, ChallengeStatus, MatchDocument, OrganizationKind, Role
from app.services import match_sync
from tests.factories import headers, make_capability, make_challenge, make_user
from tests.races import API, REQUEST_TIMEOUT, Answer, Call, fire

EXISTING = 120  # of each kind: enough for the rebuild to run while the writes arrive
WRITES = 5  # of each of the four kinds of write, per round
ROUNDS = 2

TOPICS = ["热解氮化硼坩埚", "洁净钢夹杂物控制", "玉米秸秆还田", "精密轴承磨削", "半导体单晶生长"]


@dataclass
class Scene:
    staff: dict[str, str]
    enterprise: dict[str, str]
    universities: list[dict[str, str]]
    challenges: list[int]  # drafts, editable by the enterprise
    capabilities: list[tuple[int, int]]  # (id, index of its university)


def _scene() -> Scene:
    with get_session_factory().begin() as session:
        staff = make_user(session, role=Role.bureau)
        owner = make_user(session)
        universities = [make_user(session, kind=OrganizationKind.university) for _ in range(3)]
        challenges = [
            make_challenge(
                session,
                owner=owner,
                status=ChallengeStatus.draft,
                title=f"{TOPICS[i % 5]}工艺{i}",
                description=f"需要解决{TOPICS[(i + 1) % 5]}与{TOPICS[(i + 2) % 5]}的问题。" * 3,
            ).id
            for i in range(EXISTING)
        ]
        capabilities = [
            (
                make_capability(
                    session,
                    owner=universities[i % 3],
                    title=f"{TOPICS[i % 5]}团队{i}",
                    description=f"长期研究{TOPICS[(i + 3) % 5]}。" * 3,
                ).id,
                i % 3,
            )
            for i in range(EXISTING)
        ]
        return Scene(
            headers(staff),
            headers(owner),
            [headers(u) for u in universities],
            challenges,
            capabilities,
        )


def _word(kind: str, round_: int, i: int) -> str:
    """A word that only one object's text holds (jieba keeps a Latin word whole)."""
    return f"zq{kind}{round_}x{i}"


def _calls(scene: Scene, round_: int) -> tuple[list[Call], dict[str, str]]:
    """The rebuild and the writes of one round; the edited objects' words by "kind:id"."""
    calls = [Call("rebuild", "POST", "/matching/rebuild", scene.staff)]
    edited: dict[str, str] = {}
    for i in range(WRITES):
        word = _word("cn", round_, i)
        body = {
            "title": f"{TOPICS[i]} {word}",
            "description": f"新的榜单：{TOPICS[i]}",
            "sector": "industry",
            "budget": "100",
            "deadline": "2099-12-31T17:00:00+08:00",
            "region": "211302",
            "tags": [TOPICS[i]],
        }
        calls.append(Call("create challenge", "POST", "/challenges", scene.enterprise, body))
        challenge_id = scene.challenges[round_ * WRITES + i]
        word = _word("ce", round_, i)
        edited[f"challenge:{challenge_id}"] = word
        calls.append(
            Call(
                "edit challenge",
                "PATCH",
                f"/challenges/{challenge_id}",
                scene.enterprise,
                {"title": f"{TOPICS[i]} {word}"},
            )
        )
        university = scene.universities[i % 3]
        body = {"title": f"{TOPICS[i]} {_word('kn', round_, i)}", "description": "新团队"}
        calls.append(Call("create capability", "POST", "/capabilities", university, body))
        capability_id, owner = scene.capabilities[round_ * WRITES + i]
        word = _word("ke", round_, i)
        edited[f"capability:{capability_id}"] = word
        calls.append(
            Call(
                "edit capability",
                "PATCH",
                f"/capabilities/{capability_id}",
                scene.universities[owner],
                {"description": f"改为研究{TOPICS[(i + 1) % 5]} {word}"},
            )
        )
    return calls, edited


def _stored_tokens_are_current(session: Session) -> list[str]:
    """The objects whose stored tokens are not those of their current text."""
    tokenizer = match_sync.tokenizer_for(match_sync.term_pairs(session))
    stored = {
        (row.kind, row.object_id): row.tokens
        for row in session.execute(
            select(MatchDocument.kind, MatchDocument.object_id, MatchDocument.tokens)
        )
    }
    wrong = []
    for model, kind in ((Challenge, "challenge"), (Capability, "capability")):
        for obj in session.scalars(select(model)):
            expected = match_sync.analyze(match_sync.document_fields(obj), tokenizer)
            if stored.get((kind, obj.id)) != expected:
                wrong.append(f"{kind}:{obj.id}")
    return wrong


def test_a_rebuild_under_writes_fails_nobody_and_loses_nothing(server: str) -> None:
    scene = _scene()
    with get_session_factory()() as session:
        before = match_sync.Runtime()  # a process that loaded its index before the race
        before.catch_up(session.connection())

    words: dict[str, str] = {}
    answers: list[tuple[Call, Answer]] = []
    for round_ in range(ROUNDS):
        calls, edited = _calls(scene, round_)
        words |= edited
        answers += zip(calls, fire(server, calls), strict=True)
    failed = [(c.kind, a.status, a.code) for c, a in answers if a.status >= 500 or a.status == 409]
    assert not failed
    assert all(a.status in (200, 201) for _, a in answers), [(c.kind, a) for c, a in answers]
    for call, answer in answers:
        if call.kind.startswith("create"):
            kind = call.kind.removeprefix("create ")
            words[f"{kind}:{answer.body['id']}"] = str(call.body["title"]).split()[-1]  # type: ignore[index]

    with get_session_factory()() as session:
        assert _stored_tokens_are_current(session) == []
        fresh = match_sync.Runtime()  # a process started after the race
        for runtime in (before, fresh):
            runtime.catch_up(session.connection())
            for key, word in words.items():
                kind, object_id = key.split(":")
                query = match_sync.analyze({"title": word}, runtime.tokenizer)
                found = runtime.indexes[kind].search(query, limit=1)
                assert [m.key for m in found] == [object_id], (key, word)

    # The server's own process followed the rebuild and the writes too.
    with httpx.Client(base_url=server + API, timeout=REQUEST_TIMEOUT) as client:
        for key, word in words.items():
            kind, object_id = key.split(":")
            if kind == "capability":
                body = {"text": word, "target": "capabilities"}
                response = client.post("/matching/preview", json=body, headers=scene.enterprise)
                assert response.status_code == 200, response.text
                assert [item["id"] for item in response.json()["items"]][:1] == [int(object_id)]
