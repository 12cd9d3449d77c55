"""exchange: one-way auctions and call auctions

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ex_auctions",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("market_code", sa.String(length=24), nullable=False),
        sa.Column("instrument_code", sa.String(length=160), nullable=False),
        sa.Column("instrument_id", sa.String(length=26), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("pricing", sa.String(length=12), nullable=False),
        sa.Column("side", sa.String(length=12), nullable=False),
        sa.Column("offered_quantity", sa.BigInteger(), nullable=False),
        sa.Column("reserve_price_ticks", sa.BigInteger(), nullable=True),
        sa.Column("max_per_bidder", sa.BigInteger(), nullable=True),
        sa.Column("min_bid_quantity", sa.BigInteger(), nullable=False),
        sa.Column("reference_price_ticks", sa.BigInteger(), nullable=True),
        sa.Column("opens_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_by_org_id", sa.String(length=26), nullable=False),
        sa.Column("created_by_user_id", sa.String(length=26), nullable=False),
        sa.Column("client_ref", sa.String(length=200), nullable=True),
        sa.Column("clearing_price_ticks", sa.BigInteger(), nullable=True),
        sa.Column("sold_quantity", sa.BigInteger(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("seller_order_id", sa.String(length=26), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ex_auctions")),
        sa.UniqueConstraint(
            "created_by_org_id",
            "client_ref",
            name=op.f("uq_ex_auctions_created_by_org_id_client_ref"),
        ),
    )
    op.create_index(
        "ix_ex_auctions_market_status", "ex_auctions", ["market_code", "status"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_ex_auctions_market_status", table_name="ex_auctions")
    op.drop_table("ex_auctions")
