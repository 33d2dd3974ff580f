"""Every process of a real two-worker server finds every matchable write made while it was
answering matches, on SQLite and on PostgreSQL, even a write whose change number was taken
before others that committed first.

A slow writer in this process takes its number and stays uncommitted while the server takes
concurrent capability creates and edits (with match requests among them) and answers more
matches; then it commits. A process that simply remembered the highest number it had applied
would have gone past the slow writer's number and never read its row. (On SQLite the slow
writer holds the write lock, so the others wait for it: numbers commit in order there.)
"""

import threading
import time
from collections.abc import Iterator

import httpx2 as httpx
import pytest

from app.db import get_session_factory
from app.models import OrganizationKind
from app.services import match_sync
from tests.factories import headers, make_capability, make_user
from tests.races import API, REQUEST_TIMEOUT, START_TIMEOUT, Answer, Call, fire, server_env
from tests.servers import serve, uvicorn_command

WORKERS = 2
WRITES = 8  # of each kind (create, edit), sent at once with as many match requests
CATCH_UPS = 24  # match requests while the slow writer is numbered but not committed
# On SQLite the burst's writes wait for the slow writer's lock, up to the busy timeout (30 s):
# the catch-ups stop after this many seconds there (at least one is made), well inside it.
SQLITE_HOLD = 10
CHECKS = 8  # match requests per written word at the end: each process answers some
WAIT_FOR_WRITES = 30  # seconds (on SQLite they wait for the slow writer instead: not joined)


@pytest.fixture
def two_workers(database: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """The API on the test's database in one uvicorn with two worker processes."""
    # The match requests come in bursts: none may wait its turn.
    env = server_env(database, PREVIEW_CONCURRENCY="0")

    def command(port: int) -> list[str]:
        return [*uvicorn_command(port), "--workers", str(WORKERS)]

    with serve(env, command, start_timeout=START_TIMEOUT, request=request) as served:
        yield served.url


def _found(base: str, token: dict[str, str], word: str) -> list[int]:
    """The capabilities a match for the word finds, asked on a new connection (so either
    worker may answer)."""
    with httpx.Client(base_url=base + API, timeout=REQUEST_TIMEOUT) as client:
        body = {"text": word, "target": "capabilities"}
        response = client.post("/matching/preview", json=body, headers=token)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def _match(token: dict[str, str], word: str) -> Call:
    return Call(
        "match", "POST", "/matching/preview", token, {"text": word, "target": "capabilities"}
    )


def test_every_process_finds_every_write_made_while_it_answered(
    two_workers: str, database: str
) -> None:
    with get_session_factory().begin() as session:
        enterprise = headers(make_user(session))
        universities = [make_user(session, kind=OrganizationKind.university) for _ in range(2)]
        existing = [
            make_capability(session, owner=universities[i % 2], title=f"先进陶瓷团队{i}").id
            for i in range(WRITES)
        ]
        slow_owner = universities[0]
        tokens = [headers(u) for u in universities]
    for _ in range(CATCH_UPS // 2):  # both processes load their index before the race
        _found(two_workers, enterprise, "陶瓷")

    numbered, release = threading.Event(), threading.Event()
    slow: dict[str, int] = {}
    failures: list[BaseException] = []

    def slow_write() -> None:
        try:
            with get_session_factory()() as session, session.begin():
                owner = session.merge(slow_owner)
                slow["zqslowwrite"] = make_capability(session, owner=owner, title="zqslowwrite").id
                match_sync.number_pending(session)  # the number is taken; the commit waits
                numbered.set()
                assert release.wait(2 * REQUEST_TIMEOUT)
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)
            numbered.set()

    calls: list[Call] = []
    edited: dict[str, int] = {}
    for i in range(WRITES):
        body = {"title": f"新团队 zqnew{i}", "description": "氮化硼涂层"}
        calls.append(Call("create", "POST", "/capabilities", tokens[i % 2], body))
        edited[f"zqedit{i}"] = existing[i]
        body = {"description": f"改为研究 zqedit{i}"}
        calls.append(Call("edit", "PATCH", f"/capabilities/{existing[i]}", tokens[i % 2], body))
        calls.append(_match(enterprise, f"zqnew{i} zqedit{i}"))
    answers: list[Answer] = []
    writer = threading.Thread(target=slow_write)
    burst = threading.Thread(target=lambda: answers.extend(fire(two_workers, calls)))
    writer.start()
    try:
        assert numbered.wait(REQUEST_TIMEOUT)
        assert not failures, failures
        burst.start()
        sqlite = database.startswith("sqlite")
        if not sqlite:
            burst.join(WAIT_FOR_WRITES)  # committed after the slow writer took its number
        hold_until = time.monotonic() + SQLITE_HOLD
        for _ in range(CATCH_UPS):  # each process catches up while the slow writer is open
            _found(two_workers, enterprise, "zqslowwrite")
            if sqlite and time.monotonic() > hold_until:
                break
    finally:
        release.set()
        writer.join(2 * REQUEST_TIMEOUT)
        if burst.ident is not None:
            burst.join(2 * REQUEST_TIMEOUT)
    assert not failures, failures
    statuses = [(c.kind, a.status) for c, a in zip(calls, answers, strict=True)]
    assert all(status in (200, 201) for _, status in statuses), statuses

    words = dict(slow) | edited
    for call, answer in zip(calls, answers, strict=True):
        if call.kind == "create":
            words[str(call.body["title"]).split()[-1]] = answer.body["id"]  # type: ignore[index]
    missed: dict[str, list[list[int]]] = {}
    for word, object_id in words.items():
        best = [_found(two_workers, enterprise, word)[:1] for _ in range(CHECKS)]
        if any(ids != [object_id] for ids in best):
            missed[word] = best
    assert not missed, missed
