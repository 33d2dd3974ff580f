"""The schema comes only from the migrations, and they run both ways."""

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

import app.models  # noqa: F401 - every table on the metadata
from app.db import Base, alembic_config, make_engine, migrate
from app.models.base import schema_filter
from tests.databases import create_database, postgres_url


def test_autogenerate_finds_no_difference_between_models_and_migrations(engine: Engine) -> None:
    with engine.connect() as connection:
        opts = {"compare_type": True, "include_object": schema_filter(connection.dialect.name)}
        context = MigrationContext.configure(connection, opts=opts)
        assert compare_metadata(context, Base.metadata) == []


def _round_trip(url: str) -> None:
    migrate(url)
    engine = make_engine(url)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate(url)
    assert {"challenge", "bid", "project", "audit_event"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_downgrade_to_base_and_upgrade_again_on_sqlite(tmp_path: Path) -> None:
    _round_trip(f"sqlite:///{tmp_path / 'round-trip.db'}")


@pytest.mark.postgres
@pytest.mark.skipif(postgres_url() is None, reason="no PostgreSQL URL given")
def test_downgrade_to_base_and_upgrade_again_on_postgres(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", postgres_url() or "")
    url, drop = create_database(tmp_path)
    try:
        _round_trip(url)
    finally:
        drop()


def _keeps_an_existing_project(url: str) -> None:
    migrate(url, "5c0d1e2f3a4b")  # before the project's life after the award
    engine = make_engine(url)
    with engine.begin() as connection:
        for statement in (
            "INSERT INTO organization (id, kind, name, region, status, created_at, updated_at)"
            " VALUES (1, 'enterprise', '甲公司', '211302', 'verified', :t, :t),"
            " (2, 'university', '乙大学', '211302', 'verified', :t, :t)",
            "INSERT INTO user_account (id, organization_id, username, display_name,"
            " password_hash, role, is_active, created_at, updated_at)"
            " VALUES (1, 1, 'a', 'A', 'x', 'enterprise', true, :t, :t),"
            " (2, 2, 'b', 'B', 'x', 'university', true, :t, :t)",
            "INSERT INTO challenge (id, organization_id, created_by_id, title, description,"
            " indicators, expected_outcome, sector, tags, budget, deadline, region, contact,"
            " status, created_at, updated_at) VALUES (1, 1, 1, '坩埚', '描述', '[]', '',"
            " 'industry', '[]', 100, :t, '211302', '', 'awarded', :t, :t)",
            "INSERT INTO bid (id, challenge_id, organization_id, created_by_id, approach, team,"
            " budget, duration_months, milestones, status, created_at, updated_at)"
            " VALUES (1, 1, 2, 2, '方案', '团队', 90, 12, '[]', 'awarded', :t, :t)",
            "INSERT INTO project (id, challenge_id, bid_id, owner_organization_id,"
            " performer_organization_id, budget, status, created_at, updated_at)"
            " VALUES (1, 1, 1, 1, 2, 90, 'in_progress', :t, :t)",
        ):
            connection.execute(text(statement), {"t": "2026-11-30 08:00:00"})
    migrate(url)
    with engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT status, title, government_funding, disbursed, open_objections FROM project"
            )
        ).one()
    assert (row.status, row.title, row.open_objections) == ("in_progress", "坩埚", 0)
    assert row.government_funding == row.disbursed == 0
    assert _copies(engine) == (("industry", "211302"), ("industry", "211302"), 1)
    # Back before the copies and the count, with the rows in place, and up again.
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "5c2f9e7a1d43")
    migrate(url)
    assert _copies(engine) == (("industry", "211302"), ("industry", "211302"), 1)
    engine.dispose()


def _copies(engine: Engine) -> tuple[tuple[str, str], tuple[str, str], int]:
    """The bid's and the project's copies of the challenge's sector and county, its bid count."""
    with engine.connect() as connection:
        bid = connection.execute(text("SELECT sector, region FROM bid")).one()
        project = connection.execute(text("SELECT sector, region FROM project")).one()
        count = connection.execute(text("SELECT bid_count FROM challenge")).scalar_one()
    return tuple(bid), tuple(project), count


def test_an_existing_project_survives_the_upgrade_on_sqlite(tmp_path: Path) -> None:
    _keeps_an_existing_project(f"sqlite:///{tmp_path / 'upgrade.db'}")


@pytest.mark.postgres
@pytest.mark.skipif(postgres_url() is None, reason="no PostgreSQL URL given")
def test_an_existing_project_survives_the_upgrade_on_postgres(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", postgres_url() or "")
    url, drop = create_database(tmp_path)
    try:
        _keeps_an_existing_project(url)
    finally:
        drop()
