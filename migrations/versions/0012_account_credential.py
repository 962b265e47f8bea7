"""Which credentials each account was bound with, as a salted one-way digest.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 16:10:00

An account's name is bound to its Toggl user by its first answer that names
one (0010). A sync whose answers name no user (nothing changed since the
cursor) could not tell that the credentials under the name had been replaced
by another user's: it moved that account's cursor with the other user's empty
answer and pushed the account's offline edits with the other user's
credentials. `accounts.credential` keeps a salted digest of the credentials
the account was bound with (`<salt hex>$<digest hex>`, never the secret;
`togglsync.accounts.check_credentials`): when it differs, one GET /me says
whose they are before anything else is asked.

Accounts bound before this revision have none: their next sync spends that
one GET /me, then stores it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("credential", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("credential")
