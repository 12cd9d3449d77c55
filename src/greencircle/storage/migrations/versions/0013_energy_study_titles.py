"""energy: study titles stored per language (label_en, label_zh)

Revision ID: 0013
Revises: 0004
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("energy_studies") as batch:
        batch.add_column(sa.Column("label_en", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("label_zh", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("energy_studies") as batch:
        batch.drop_column("label_zh")
        batch.drop_column("label_en")
