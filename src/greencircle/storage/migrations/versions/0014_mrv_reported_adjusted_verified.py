"""mrv: reported, adjusted and verified figures side by side

A verifier's adjustment no longer overwrites the enterprise's reported record and total:
records keep their reported inputs and emissions and get ``adjusted_*`` columns; reports
get ``adjusted_tco2`` beside ``reported_tco2`` and ``verified_tco2``.

Revision ID: 0014
Revises: 0005
Create Date: 2026-12-05 02:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RECORD_COLUMNS = (
    ("adjusted_inputs", sa.JSON()),
    ("adjusted_emissions_tco2", sa.String(length=48)),
    ("adjusted_method", sa.String(length=40)),
    ("adjusted_factor_ids", sa.String(length=300)),
    ("adjusted_receipt_sha256", sa.String(length=64)),
    ("adjusted_leaf_index", sa.BigInteger()),
    ("adjusted_by", sa.String(length=26)),
    ("adjusted_at", sa.DateTime(timezone=True)),
    ("adjustment_reason", sa.Text()),
)


def upgrade() -> None:
    with op.batch_alter_table("mrv_activity_records") as batch:
        for name, type_ in RECORD_COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
    with op.batch_alter_table("mrv_reports") as batch:
        batch.add_column(sa.Column("adjusted_tco2", sa.String(length=48), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mrv_reports") as batch:
        batch.drop_column("adjusted_tco2")
    with op.batch_alter_table("mrv_activity_records") as batch:
        for name, _ in reversed(RECORD_COLUMNS):
            batch.drop_column(name)
