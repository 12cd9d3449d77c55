"""exchange: FX rate four-eyes (state, reasons, decision), auction titles per language,
exchange settings (demo trading hours)

Revision ID: 0016
Revises: 0012
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ex_fx_rates") as batch:
        batch.add_column(
            sa.Column("state", sa.String(length=12), server_default="active", nullable=False)
        )
        batch.add_column(sa.Column("reason", sa.String(length=400), nullable=True))
        batch.add_column(sa.Column("decided_by_user_id", sa.String(length=26), nullable=True))
        batch.add_column(sa.Column("decision_reason", sa.String(length=400), nullable=True))
        batch.add_column(sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("ex_auctions") as batch:
        batch.add_column(sa.Column("titles", sa.JSON(), nullable=True))
    op.create_table(
        "ex_settings",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("set_by", sa.String(length=60), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_ex_settings")),
    )


def downgrade() -> None:
    op.drop_table("ex_settings")
    with op.batch_alter_table("ex_auctions") as batch:
        batch.drop_column("titles")
    with op.batch_alter_table("ex_fx_rates") as batch:
        batch.drop_column("decided_at")
        batch.drop_column("decision_reason")
        batch.drop_column("decided_by_user_id")
        batch.drop_column("reason")
        batch.drop_column("state")
