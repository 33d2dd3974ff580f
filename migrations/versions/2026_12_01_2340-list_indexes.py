"""indexes for the list routes at volume

`q` search on PostgreSQL: `search_grams(title, description)`, the distinct two-character
substrings of the lower-cased title and description, and a GIN index of it on challenge,
capability and result (app/services/search.py). A covering index of the challenge list's order
and filter columns (PostgreSQL's INCLUDE). The audit log's filters with its order (id), and the
unread notifications. SQLite gets the portable ones; its search stays a LIKE.

Revision ID: 7b1e4d2c9a60
Revises: e37e0a3a67d7
Create Date: 2026-12-01 23:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7b1e4d2c9a60"
down_revision: str | None = "e37e0a3a67d7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCHED = ("challenge", "capability", "result")

# IMMUTABLE (lower() is, for the database's collation), so an index may use it; STRICT;
# PARALLEL SAFE. Each string's bigrams apart (none spans the end of the title), duplicates
# kept (GIN stores each key once per row). PL/pgSQL over the string's characters: linear in
# its length (substr(s, i, 2) in a loop would be quadratic: 2 s for 20,000 characters), about
# 0.1 ms for a 120-character description. COST 5000 (50 times the default) tells the planner
# so: computing it row by row costs more than reading the GIN index, unless the term is common.
SEARCH_GRAMS = """
CREATE FUNCTION search_grams(title text, description text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE COST 5000 AS $$
DECLARE
    grams text[] := '{}';
    part text;
    chars text[];
BEGIN
    FOREACH part IN ARRAY ARRAY[lower(title), lower(description)] LOOP
        chars := regexp_split_to_array(part, '');
        FOR i IN 1 .. cardinality(chars) - 1 LOOP
            grams := grams || (chars[i] || chars[i + 1]);
        END LOOP;
    END LOOP;
    RETURN grams;
END
$$
"""


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_event_object")
        batch_op.drop_index("ix_audit_event_actor_id")
        batch_op.create_index("ix_audit_event_object", ["object_type", "object_id", "id"])
        batch_op.create_index("ix_audit_event_object_id", ["object_id", "id"])
        batch_op.create_index("ix_audit_event_actor", ["actor_id", "id"])
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notification_unread",
            ["user_id", "id"],
            sqlite_where=sa.text("read_at IS NULL"),
            postgresql_where=sa.text("read_at IS NULL"),
        )
    if not _postgresql():
        return
    # Building the indexes reads every row: on a large table longer than the service's
    # statement timeout (1e5 challenges: about 15 s).
    op.execute("SET LOCAL statement_timeout = 0")
    op.execute(SEARCH_GRAMS)
    for table in SEARCHED:
        op.create_index(
            f"ix_{table}_search_grams",
            table,
            [sa.text("search_grams(title, description)")],
            postgresql_using="gin",
        )
    op.create_index(
        "ix_challenge_list",
        "challenge",
        ["id"],
        postgresql_include=["status", "organization_id", "deadline", "sector", "region"],
    )


def downgrade() -> None:
    if _postgresql():
        op.drop_index("ix_challenge_list", table_name="challenge")
        for table in SEARCHED:
            op.drop_index(f"ix_{table}_search_grams", table_name=table)
        op.execute("DROP FUNCTION search_grams(text, text)")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_notification_unread",
            sqlite_where=sa.text("read_at IS NULL"),
            postgresql_where=sa.text("read_at IS NULL"),
        )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_event_actor")
        batch_op.drop_index("ix_audit_event_object_id")
        batch_op.drop_index("ix_audit_event_object")
        batch_op.create_index("ix_audit_event_actor_id", ["actor_id"], unique=False)
        batch_op.create_index("ix_audit_event_object", ["object_type", "object_id"], unique=False)
