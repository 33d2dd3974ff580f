"""Disbursements racing through a real server never pass the government share.

Ten bureau requests of 30 万元 at once on a share of 90: exactly three are recorded, the other
seven answer 409 `over_funding`, nobody gets a 5xx, and the project's `disbursed` equals the
sum of the stored rows. The guard is the database's CHECK `disbursed <= government_funding`
behind one `UPDATE ... SET disbursed = disbursed + :amount`: a read-then-write check in Python
lets every racer read the same sum on PostgreSQL and all ten "succeed" (tried: this test then
fails on PostgreSQL; on SQLite writers run one at a time, so both pass there).
"""

import os
import secrets
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.config import get_settings
from app.db import get_engine, get_session_factory, migrate
from app.models import AuditEvent, Disbursement, Notification, NotificationKind, Project
from tests.conftest import create_database, postgres_url
from tests.factories import headers
from tests.project_factories import make_world
from tests.servers import serve
from tests.test_concurrent_writes import Call, fire

RACERS = 10
SHARE = Decimal("90.00")
AMOUNT = "30.00"


def _clear_caches() -> None:
    get_settings.cache_clear()
    get_engine.cache_clear()
    get_session_factory.cache_clear()


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgresql",
            marks=[
                pytest.mark.postgres,
                pytest.mark.skipif(
                    postgres_url() is None, reason="needs PostgreSQL (POSTGRES_URL)"
                ),
            ],
        ),
    ]
)
def server(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The API in its own process on a fresh, migrated database of the parameter's kind."""
    if request.param == "postgresql":
        monkeypatch.setenv("DATABASE_URL", postgres_url() or "")  # a new database beside it
    else:
        monkeypatch.delenv("DATABASE_URL", raising=False)  # a SQLite file under tmp_path
    url, drop = create_database(tmp_path)
    try:
        migrate(url)
        monkeypatch.setenv("DATABASE_URL", url)
        if not os.environ.get("SECRET_KEY"):  # the server checks the tokens this process signs
            monkeypatch.setenv("SECRET_KEY", secrets.token_hex(32))
        _clear_caches()
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "LOG_LEVEL": "WARNING",
            "RATE_LIMITS": "off",
            "MATCH_WARMUP": "0",
        }
        with serve(env, start_timeout=30, request=request) as served:
            yield served.url
    finally:
        get_engine().dispose()
        _clear_caches()
        drop()


def test_parallel_disbursements_never_pass_the_government_share(server: str) -> None:
    with get_session_factory()() as session:
        world = make_world(session, government_funding=SHARE)
        session.commit()
        project_id, bureau, performer = world.project.id, world.bureau, world.performer
        token = headers(bureau)

    path = f"/projects/{project_id}/disbursements"
    calls = [
        Call("disburse", "POST", path, token, {"amount": AMOUNT, "note": f"第{i + 1}笔"})
        for i in range(RACERS)
    ]
    answers = fire(server, calls)

    assert [a for a in answers if a.status >= 500] == []
    outcomes = sorted((a.status, a.code) for a in answers)
    assert outcomes == [(201, None)] * 3 + [(409, "over_funding")] * (RACERS - 3)
    for answer in answers:
        if answer.status == 409:
            assert "尚可拨付 0.00 万元" in answer.body["detail"], answer.body

    with get_session_factory()() as session:
        project = session.get(Project, project_id)
        assert project is not None
        rows = session.scalar(
            select(func.sum(Disbursement.amount)).where(Disbursement.project_id == project_id)
        )
        assert project.disbursed == rows == SHARE
        count = select(func.count()).select_from(AuditEvent)
        assert session.scalar(count.where(AuditEvent.action == "project.disburse")) == 3
        told = select(func.count()).select_from(Notification)
        assert (
            session.scalar(
                told.where(
                    Notification.kind == NotificationKind.funds_disbursed,
                    Notification.user_id == performer.id,
                )
            )
            == 3
        )
