"""exchange: listed agreement listings and block agreement trades

Listings and the sides of block agreements are ``ex_orders`` rows (``mode`` ``listed`` /
``block``, migration 0008); this revision adds the block proposals.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ex_block_proposals",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("market_code", sa.String(length=24), nullable=False),
        sa.Column("instrument_code", sa.String(length=160), nullable=False),
        sa.Column("instrument_id", sa.String(length=26), nullable=False),
        sa.Column("initiator_org_id", sa.String(length=26), nullable=False),
        sa.Column("initiator_user_id", sa.String(length=26), nullable=False),
        sa.Column("counterparty_org_id", sa.String(length=26), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("price_ticks", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("initiator_order_id", sa.String(length=26), nullable=False),
        sa.Column("counterparty_order_id", sa.String(length=26), nullable=True),
        sa.Column("trade_id", sa.String(length=26), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("client_ref", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["initiator_org_id"],
            ["organisations.id"],
            name=op.f("fk_ex_block_proposals_initiator_org_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["counterparty_org_id"],
            ["organisations.id"],
            name=op.f("fk_ex_block_proposals_counterparty_org_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ex_block_proposals")),
        sa.UniqueConstraint(
            "initiator_org_id",
            "client_ref",
            name=op.f("uq_ex_block_proposals_initiator_org_id_client_ref"),
        ),
    )
    op.create_index(
        op.f("ix_ex_block_proposals_initiator_org_id"),
        "ex_block_proposals",
        ["initiator_org_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_ex_block_proposals_counterparty_org_id"),
        "ex_block_proposals",
        ["counterparty_org_id"],
        unique=False,
    )
    op.create_index(
        "ix_ex_block_proposals_status_expiry",
        "ex_block_proposals",
        ["status", "expires_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("ex_block_proposals")
