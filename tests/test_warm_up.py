"""The start-up warm-up: kernels compiled, this process's index loaded, logged."""

import logging
import threading

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from app.db import get_session_factory
from app.models import OrganizationKind
from app.services import match_sync
from tests.factories import make_capability, make_user


def test_warm_up_loads_the_index_and_says_so(
    live_database: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(match_sync, "_kernels_ready", threading.Event())  # as in a new process
    factory = get_session_factory()
    with factory.begin() as session:
        uni = make_user(session, kind=OrganizationKind.university)
        capability = make_capability(session, owner=uni, title="热解氮化硼坩埚", description="涂层")
        capability_id = capability.id
    match_sync.reset_runtimes()
    with caplog.at_level(logging.INFO, logger="app.services.match_sync"):
        match_sync.warm_up(factory)
    messages = [record.getMessage() for record in caplog.records]
    assert any(m.startswith("matcher kernels ready in ") for m in messages)
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


@pytest.mark.parametrize(("setting", "threads"), [("1", 1), ("2", 2), (None, None)])
def test_match_threads_setting_reaches_every_index(
    monkeypatch: pytest.MonkeyPatch, setting: str | None, threads: int | None
) -> None:
    from app.config import get_settings
    from app.matching.helper import default_threads

    if setting is None:
        monkeypatch.delenv("MATCH_THREADS", raising=False)
    else:
        monkeypatch.setenv("MATCH_THREADS", setting)
    get_settings.cache_clear()
    try:
        runtime = match_sync.Runtime()
    finally:
        get_settings.cache_clear()
    expected = default_threads() if threads is None else threads
    assert {index.threads for index in runtime.indexes.values()} == {expected}


def test_match_threads_out_of_range_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from app.config import Settings

    monkeypatch.setenv("MATCH_THREADS", "3")
    with pytest.raises(ValidationError):
        Settings()
