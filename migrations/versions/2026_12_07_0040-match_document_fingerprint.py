"""match_document.fingerprint: the text a document's tokens were segmented from

A rebuild segments outside any transaction that holds locks and then writes a batch's tokens
only where the row still carries the fingerprint of the text it read: a concurrent edit (which
writes its own tokens and fingerprint) is never overwritten by stale tokens. Rows from before
this revision have none; the rebuild writes those.

Revision ID: 5d0c3b7e21f4
Revises: 3e8a5c1d7b92
Create Date: 2026-12-06 23:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5d0c3b7e21f4"
down_revision: str | None = "3e8a5c1d7b92"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("match_document") as batch:
        batch.add_column(sa.Column("fingerprint", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("match_document") as batch:
        batch.drop_column("fingerprint")
