"""Match previews in flight are bounded per process: a real server, parallel long previews."""

import os
import threading
from collections.abc import Iterator

import httpx2 as httpx
import pytest

from app.config import get_settings
from app.db import get_session_factory
from app.models import OrganizationKind
from tests.factories import headers, make_capability, make_user
from tests.servers import serve

PARALLEL = 6
TEXT = ("大尺寸晶体生长用热解氮化硼坩埚的研制，化学气相沉积工艺优化，" * 700)[:20_000]


@pytest.fixture
def server(live_database: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """One uvicorn process: one preview at a time, no waiting for a turn."""
    env = {
        **os.environ,
        "DATABASE_URL": live_database,
        "SECRET_KEY": get_settings().secret_key,  # the tokens are signed in this process
        "LOG_LEVEL": "WARNING",
        "RATE_LIMITS": "off",  # the per-user count is not under test here
        "PREVIEW_CONCURRENCY": "1",
        "PREVIEW_WAIT_SECONDS": "0",
    }
    with serve(env, request=request) as served:
        yield served.url


def test_previews_beyond_the_in_flight_bound_get_429_preview_busy(server: str) -> None:
    with get_session_factory().begin() as session:
        users = [make_user(session) for _ in range(PARALLEL)]
        uni = make_user(session, kind=OrganizationKind.university)
        make_capability(session, owner=uni, title="化学气相沉积平台", description=TEXT[:500])
        tokens = [headers(user) for user in users]
    preview = f"{server}/api/v1/matching/preview?limit=50"
    # The first preview loads the index (and compiles what the matcher compiles): alone.
    warm = httpx.post(preview, json={"text": TEXT}, headers=tokens[0], timeout=120)
    assert warm.status_code == 200, warm.text

    answers: list[httpx.Response | Exception] = []
    lock = threading.Lock()
    start = threading.Barrier(PARALLEL)

    def send(token: dict[str, str]) -> None:
        start.wait(timeout=30)
        try:
            answer: httpx.Response | Exception = httpx.post(
                preview, json={"text": TEXT}, headers=token, timeout=120
            )
        except httpx.HTTPError as exc:  # reported below with the answers
            answer = exc
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=send, args=(token,), daemon=True) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=150)

    assert len(answers) == PARALLEL
    responses = [r for r in answers if isinstance(r, httpx.Response)]
    assert len(responses) == PARALLEL, answers
    assert all(r.status_code in (200, 429) for r in responses), [r.text for r in responses]
    busy = [r for r in responses if r.status_code == 429]
    assert busy, "every preview ran at once"
    assert len(busy) < PARALLEL  # one of them ran
    for r in busy:
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "preview_busy"
        assert int(r.headers["retry-after"]) >= 1
