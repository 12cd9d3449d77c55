"""exchange: surveillance alerts and rejected-order records

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ex_rejections",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("market_code", sa.String(length=24), nullable=False),
        sa.Column("instrument_code", sa.String(length=160), nullable=False),
        sa.Column("org_id", sa.String(length=26), nullable=False),
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("price_ticks", sa.BigInteger(), nullable=True),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ex_rejections")),
    )
    op.create_index(
        "ix_ex_rejections_market_time",
        "ex_rejections",
        ["market_code", "created_at"],
        unique=False,
    )
    op.create_table(
        "ex_alerts",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("market_code", sa.String(length=24), nullable=False),
        sa.Column("instrument_code", sa.String(length=160), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=12), nullable=False),
        sa.Column("org_id", sa.String(length=26), nullable=True),
        sa.Column("trade_date", sa.String(length=10), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("message", sa.String(length=1000), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("reviewed_by", sa.String(length=26), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ex_alerts")),
        sa.UniqueConstraint("key", name=op.f("uq_ex_alerts_key")),
    )
    op.create_index(op.f("ix_ex_alerts_kind"), "ex_alerts", ["kind"], unique=False)
    op.create_index(op.f("ix_ex_alerts_status"), "ex_alerts", ["status"], unique=False)
    op.create_index(
        "ix_ex_alerts_market_time", "ex_alerts", ["market_code", "created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_table("ex_alerts")
    op.drop_table("ex_rejections")
