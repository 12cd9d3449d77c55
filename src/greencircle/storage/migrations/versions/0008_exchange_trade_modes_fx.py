"""exchange: trade modes, FX rate snapshots, cross-border settlement

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ex_orders") as b:
        b.add_column(
            sa.Column("mode", sa.String(length=12), nullable=False, server_default="continuous")
        )
        b.add_column(sa.Column("venue_ref", sa.String(length=26), nullable=True))
        b.create_index(b.f("ix_ex_orders_venue_ref"), ["venue_ref"], unique=False)
        b.add_column(sa.Column("funding_currency", sa.String(length=3), nullable=True))
        b.add_column(sa.Column("fx_rate_id", sa.String(length=26), nullable=True))
        b.add_column(sa.Column("fx_hold_id", sa.String(length=26), nullable=True))
        b.add_column(sa.Column("fx_hold_open", sa.BigInteger(), nullable=False, server_default="0"))
        b.add_column(sa.Column("paid_minor", sa.BigInteger(), nullable=False, server_default="0"))
    with op.batch_alter_table("ex_trades") as b:
        b.add_column(
            sa.Column("mode", sa.String(length=12), nullable=False, server_default="continuous")
        )
        b.add_column(
            sa.Column("sets_close", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        b.add_column(sa.Column("buyer_currency", sa.String(length=3), nullable=True))
        b.add_column(sa.Column("buyer_paid_minor", sa.BigInteger(), nullable=True))
        b.add_column(sa.Column("fx_rate_id", sa.String(length=26), nullable=True))
    op.create_table(
        "ex_fx_rates",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("base_currency", sa.String(length=3), nullable=False),
        sa.Column("quote_currency", sa.String(length=3), nullable=False),
        sa.Column("rate", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("source_ref", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_user_id", sa.String(length=26), nullable=False),
        sa.Column("recorded_by_org_id", sa.String(length=26), nullable=False),
        sa.Column("leaf_index", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ex_fx_rates")),
    )
    op.create_index(
        "ix_ex_fx_rates_pair",
        "ex_fx_rates",
        ["base_currency", "quote_currency", "valid_from"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("ex_fx_rates")
    with op.batch_alter_table("ex_trades") as b:
        for col in ("fx_rate_id", "buyer_paid_minor", "buyer_currency", "sets_close", "mode"):
            b.drop_column(col)
    with op.batch_alter_table("ex_orders") as b:
        b.drop_index(b.f("ix_ex_orders_venue_ref"))
        for col in (
            "paid_minor",
            "fx_hold_open",
            "fx_hold_id",
            "fx_rate_id",
            "funding_currency",
            "venue_ref",
            "mode",
        ):
            b.drop_column(col)
