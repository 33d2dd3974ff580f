"""Two real API processes on one database: a write through one shows in the other's matches."""

import os
import time
from collections.abc import Iterator
from contextlib import ExitStack

import httpx2 as httpx
import pytest

from app.db import get_session_factory
from app.models import OrganizationKind
from tests.factories import headers, make_capability, make_challenge, make_user
from tests.servers import serve

PBN = "大尺寸晶体生长用热解氮化硼坩埚的研制，化学气相沉积工艺优化"


@pytest.fixture
def two_servers(live_database: str, request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    env = {**os.environ, "DATABASE_URL": live_database, "LOG_LEVEL": "WARNING"}
    with ExitStack() as stack:
        # A loaded 2-core machine imports slowly.
        writer, reader = (
            stack.enter_context(serve(env, start_timeout=90, request=request)) for _ in range(2)
        )
        yield writer.url, reader.url


def test_a_write_through_one_process_shows_in_the_others_matches(
    two_servers: tuple[str, str],
) -> None:
    writer, reader = two_servers
    with get_session_factory().begin() as session:
        owner = make_user(session)
        uni = make_user(session, kind=OrganizationKind.university)
        challenge = make_challenge(session, owner=owner, title="热解氮化硼坩埚", description=PBN)
        make_capability(session, owner=uni, title="洁净钢团队", description="夹杂物控制")
        challenge_id, uni_headers = challenge.id, headers(uni)
    path = f"/api/v1/challenges/{challenge_id}/matches?target=capabilities"

    def reader_ids() -> list[int]:
        response = httpx.get(reader + path, timeout=10)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert reader_ids() == []  # the reader has loaded its index before the write

    created = httpx.post(
        writer + "/api/v1/capabilities",
        json={"title": "化学气相沉积平台", "description": PBN, "tags": ["热解氮化硼坩埚"]},
        headers=uni_headers,
        timeout=10,
    )
    assert created.status_code == 201, created.text
    new_id = created.json()["id"]
    written = time.monotonic()
    assert reader_ids()[:1] == [new_id]
    assert time.monotonic() - written < 1.0

    deleted = httpx.delete(f"{writer}/api/v1/capabilities/{new_id}", headers=uni_headers)
    assert deleted.status_code == 204
    assert new_id not in reader_ids()
