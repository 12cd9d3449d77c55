"""exchange: four-eyes requests to issue units into an authority's auction reserve

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ex_reserve_requests",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("market_code", sa.String(length=24), nullable=False),
        sa.Column("product", sa.String(length=24), nullable=False),
        sa.Column("vintage", sa.BigInteger(), nullable=False),
        sa.Column("project_id", sa.String(length=60), nullable=True),
        sa.Column("region", sa.String(length=60), nullable=True),
        sa.Column("pollutant", sa.String(length=16), nullable=True),
        sa.Column("instrument_code", sa.String(length=160), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("requested_by_user_id", sa.String(length=26), nullable=False),
        sa.Column("requested_by_org_id", sa.String(length=26), nullable=False),
        sa.Column("decided_by_user_id", sa.String(length=26), nullable=True),
        sa.Column("reason", sa.String(length=400), nullable=True),
        sa.Column("tx_id", sa.String(length=26), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ex_reserve_requests")),
    )
    op.create_index(
        "ix_ex_reserve_requests_market_status",
        "ex_reserve_requests",
        ["market_code", "status"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("ex_reserve_requests")
