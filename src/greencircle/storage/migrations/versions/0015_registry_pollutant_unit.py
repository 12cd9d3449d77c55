"""registry: pollutant-discharge rights are counted in t (the unit of their prices)

The instrument class ``pollutant`` said ``kg`` while its quantities were issued, traded and
priced per tonne; ``registry/data/instruments.toml`` now says ``t``. Stored instrument rows
keep a copy of the class unit: bring them in line (quantities are unchanged).

Revision ID: 0015
Revises: 0006
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE reg_instruments SET unit = 't' WHERE instrument_class = 'pollutant'")


def downgrade() -> None:
    op.execute("UPDATE reg_instruments SET unit = 'kg' WHERE instrument_class = 'pollutant'")
