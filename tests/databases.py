"""Where the tests' databases come from: a new SQLite file, or a new PostgreSQL database."""

import os
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import make_url, text

from app.db import make_engine


def postgres_url() -> str | None:
    """The PostgreSQL server tests may use: POSTGRES_URL, else a PostgreSQL DATABASE_URL."""
    for name in ("POSTGRES_URL", "DATABASE_URL"):
        url = os.environ.get(name, "")
        if url.startswith("postgresql"):
            return url
    return None


def create_database(tmp_dir: Path) -> tuple[str, Callable[[], None]]:
    """A new empty database for this test run, and how to drop it."""
    base = os.environ.get("DATABASE_URL", "")
    if base.startswith("postgresql"):
        name = f"test_{uuid.uuid4().hex[:12]}"
        admin = make_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(base).set(database=name).render_as_string(hide_password=False)

        def drop() -> None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

        return url, drop
    path = tmp_dir / f"test-{uuid.uuid4().hex[:8]}.db"
    return f"sqlite:///{path}", lambda: None
