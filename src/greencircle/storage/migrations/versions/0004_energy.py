"""energy sites and studies

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "energy_sites",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("organisation_id", sa.String(length=26), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=False),
        sa.Column("jurisdiction_code", sa.String(length=24), nullable=False),
        sa.Column("latitude_deg", sa.Float(), nullable=False),
        sa.Column("longitude_deg", sa.Float(), nullable=False),
        sa.Column("grid_code", sa.String(length=24), nullable=False),
        sa.Column("timezone", sa.String(length=40), nullable=False),
        sa.Column("created_by", sa.String(length=26), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_energy_sites_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["jurisdiction_code"],
            ["jurisdictions.code"],
            name=op.f("fk_energy_sites_jurisdiction_code_jurisdictions"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_energy_sites_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_energy_sites")),
        sa.UniqueConstraint(
            "organisation_id", "code", name=op.f("uq_energy_sites_organisation_id_code")
        ),
    )
    with op.batch_alter_table("energy_sites", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_energy_sites_jurisdiction_code"), ["jurisdiction_code"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_energy_sites_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "energy_studies",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("site_id", sa.String(length=26), nullable=False),
        sa.Column("organisation_id", sa.String(length=26), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("solver_status", sa.String(length=32), nullable=True),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("series", sa.JSON(), nullable=True),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("spec_sha256", sa.String(length=64), nullable=False),
        sa.Column("result_sha256", sa.String(length=64), nullable=True),
        sa.Column("log_index", sa.BigInteger(), nullable=True),
        sa.Column("job_id", sa.String(length=26), nullable=True),
        sa.Column("created_by", sa.String(length=26), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_energy_studies_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_energy_studies_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["energy_sites.id"], name=op.f("fk_energy_studies_site_id_energy_sites")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_energy_studies")),
    )
    with op.batch_alter_table("energy_studies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_energy_studies_created_by"), ["created_by"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_energy_studies_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_energy_studies_site_id"), ["site_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_energy_studies_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("energy_studies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_energy_studies_status"))
        batch_op.drop_index(batch_op.f("ix_energy_studies_site_id"))
        batch_op.drop_index(batch_op.f("ix_energy_studies_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_energy_studies_created_by"))

    op.drop_table("energy_studies")
    with op.batch_alter_table("energy_sites", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_energy_sites_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_energy_sites_jurisdiction_code"))

    op.drop_table("energy_sites")
