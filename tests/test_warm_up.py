"""The start-up warm-up: this process's index loaded, logged."""

import logging

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from app.db import get_session_factory
from app.models import OrganizationKind
from app.services import match_sync
from tests.factories import make_capability, make_user


def test_warm_up_loads_the_index_and_says_so(
    live_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    factory = get_session_factory()
    with factory.begin() as session:
        uni = make_user(session, kind=OrganizationKind.university)
        capability = make_capability(session, owner=uni, title="热解氮化硼坩埚", description="涂层")
        capability_id = capability.id
    match_sync.reset_runtimes()
    with caplog.at_level(logging.INFO, logger="app.services.match_sync"):
        match_sync.warm_up(factory)
    messages = [record.getMessage() for record in caplog.records]
    assert any(m.startswith("match index loaded: 1 documents") for m in messages)
    with factory() as session:
        runtime = match_sync.runtime_for(session)
    assert str(capability_id) in runtime.indexes["capability"]


def test_warm_up_on_a_database_without_tables_logs_and_carries_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    factory = sessionmaker(create_engine("sqlite://"))
    with caplog.at_level(logging.ERROR, logger="app.services.match_sync"):
        match_sync.warm_up(factory)  # no exception
    assert any("warm-up failed" in record.getMessage() for record in caplog.records)
