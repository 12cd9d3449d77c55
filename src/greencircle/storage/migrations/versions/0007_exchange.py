"""exchange: command journal, orders, trades

Revision ID: 0007
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ex_journal",
        sa.Column("seq", _SEQ, autoincrement=True, nullable=False),
        sa.Column("market_code", sa.String(length=24), nullable=False),
        sa.Column("instrument_code", sa.String(length=160), nullable=False),
        sa.Column("command", sa.String(length=16), nullable=False),
        sa.Column("order_id", sa.String(length=26), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("actor_user_id", sa.String(length=26), nullable=False),
        sa.Column("org_id", sa.String(length=26), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_ex_journal")),
    )
    op.create_index(op.f("ix_ex_journal_order_id"), "ex_journal", ["order_id"], unique=False)
    op.create_table(
        "ex_orders",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("org_id", sa.String(length=26), nullable=False),
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("client_order_id", sa.String(length=200), nullable=True),
        sa.Column("market_code", sa.String(length=24), nullable=False),
        sa.Column("instrument_code", sa.String(length=160), nullable=False),
        sa.Column("instrument_id", sa.String(length=26), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("tif", sa.String(length=3), nullable=False),
        sa.Column("price_ticks", sa.BigInteger(), nullable=True),
        sa.Column("protection_ticks", sa.BigInteger(), nullable=True),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("open_quantity", sa.BigInteger(), nullable=False),
        sa.Column("filled_quantity", sa.BigInteger(), nullable=False),
        sa.Column("cancelled_quantity", sa.BigInteger(), nullable=False),
        sa.Column("notional_minor", sa.BigInteger(), nullable=False),
        sa.Column("fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("hold_id", sa.String(length=26), nullable=True),
        sa.Column("hold_open", sa.BigInteger(), nullable=False),
        sa.Column("priority_seq", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_ex_orders_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ex_orders")),
        sa.UniqueConstraint(
            "org_id", "client_order_id", name=op.f("uq_ex_orders_org_id_client_order_id")
        ),
    )
    op.create_index(op.f("ix_ex_orders_org_id"), "ex_orders", ["org_id"], unique=False)
    op.create_index(
        "ix_ex_orders_book_status",
        "ex_orders",
        ["market_code", "instrument_code", "status"],
        unique=False,
    )
    op.create_table(
        "ex_trades",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("market_code", sa.String(length=24), nullable=False),
        sa.Column("instrument_code", sa.String(length=160), nullable=False),
        sa.Column("price_ticks", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("notional_minor", sa.BigInteger(), nullable=False),
        sa.Column("buy_order_id", sa.String(length=26), nullable=False),
        sa.Column("sell_order_id", sa.String(length=26), nullable=False),
        sa.Column("buyer_org_id", sa.String(length=26), nullable=False),
        sa.Column("seller_org_id", sa.String(length=26), nullable=False),
        sa.Column("aggressor", sa.String(length=4), nullable=False),
        sa.Column("buyer_fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("seller_fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("settlement_tx_id", sa.String(length=26), nullable=False),
        sa.Column("trade_date", sa.String(length=10), nullable=False),
        sa.Column("executed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ex_trades")),
    )
    for col in ("buy_order_id", "sell_order_id", "buyer_org_id", "seller_org_id"):
        op.create_index(op.f(f"ix_ex_trades_{col}"), "ex_trades", [col], unique=False)
    op.create_index(
        "ix_ex_trades_book_time",
        "ex_trades",
        ["market_code", "instrument_code", "seq"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("ex_trades")
    op.drop_table("ex_orders")
    op.drop_table("ex_journal")
