"""registry: instruments, accounts, balances, journal, serial blocks, holds, operations

Revision ID: 0006
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reg_idempotency",
        sa.Column("scope", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_reg_idempotency")),
    )
    op.create_table(
        "reg_instruments",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("code", sa.String(length=160), nullable=False),
        sa.Column("market_code", sa.String(length=24), nullable=False),
        sa.Column("product", sa.String(length=24), nullable=False),
        sa.Column("instrument_class", sa.String(length=24), nullable=False),
        sa.Column("vintage", sa.Integer(), nullable=True),
        sa.Column("project_id", sa.String(length=60), nullable=True),
        sa.Column("region", sa.String(length=60), nullable=True),
        sa.Column("pollutant", sa.String(length=16), nullable=True),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("scale", sa.Integer(), nullable=False),
        sa.Column("serialised", sa.Boolean(), nullable=False),
        sa.Column("next_serial", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reg_instruments")),
        sa.UniqueConstraint("code", name=op.f("uq_reg_instruments_code")),
    )
    op.create_index(
        op.f("ix_reg_instruments_market_code"), "reg_instruments", ["market_code"], unique=False
    )
    op.create_table(
        "reg_transactions",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("market_code", sa.String(length=24), nullable=False),
        sa.Column("actor_user_id", sa.String(length=26), nullable=True),
        sa.Column("actor_org_id", sa.String(length=26), nullable=True),
        sa.Column("reference", sa.String(length=80), nullable=True),
        sa.Column("leaf_index", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reg_transactions")),
    )
    op.create_index(
        op.f("ix_reg_transactions_actor_org_id"), "reg_transactions", ["actor_org_id"], unique=False
    )
    op.create_index(op.f("ix_reg_transactions_kind"), "reg_transactions", ["kind"], unique=False)
    op.create_index(
        op.f("ix_reg_transactions_reference"), "reg_transactions", ["reference"], unique=False
    )
    op.create_table(
        "reg_allocation_plans",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("market_code", sa.String(length=24), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("jurisdiction_code", sa.String(length=24), nullable=False),
        sa.Column("product", sa.String(length=24), nullable=False),
        sa.Column("instrument_id", sa.String(length=26), nullable=False),
        sa.Column("pre_share_bp", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=26), nullable=False),
        sa.Column("approved_by", sa.String(length=26), nullable=True),
        sa.Column("true_up_by", sa.String(length=26), nullable=True),
        sa.Column("true_up_approved_by", sa.String(length=26), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["instrument_id"],
            ["reg_instruments.id"],
            name=op.f("fk_reg_allocation_plans_instrument_id_reg_instruments"),
        ),
        sa.ForeignKeyConstraint(
            ["jurisdiction_code"],
            ["jurisdictions.code"],
            name=op.f("fk_reg_allocation_plans_jurisdiction_code_jurisdictions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reg_allocation_plans")),
        sa.UniqueConstraint(
            "market_code",
            "year",
            "jurisdiction_code",
            name=op.f("uq_reg_allocation_plans_market_code_year_jurisdiction_code"),
        ),
    )
    op.create_index(
        op.f("ix_reg_allocation_plans_status"), "reg_allocation_plans", ["status"], unique=False
    )
    op.create_table(
        "reg_accounts",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("number", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("market_code", sa.String(length=24), nullable=False),
        sa.Column("org_id", sa.String(length=26), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("is_system", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_reg_accounts_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reg_accounts")),
        sa.UniqueConstraint("number", name=op.f("uq_reg_accounts_number")),
    )
    op.create_index(op.f("ix_reg_accounts_kind"), "reg_accounts", ["kind"], unique=False)
    op.create_index(
        op.f("ix_reg_accounts_market_code"), "reg_accounts", ["market_code"], unique=False
    )
    op.create_index(op.f("ix_reg_accounts_org_id"), "reg_accounts", ["org_id"], unique=False)
    op.create_table(
        "reg_allocation_lines",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("plan_id", sa.String(length=26), nullable=False),
        sa.Column("org_id", sa.String(length=26), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("sector", sa.String(length=40), nullable=True),
        sa.Column("benchmark_key", sa.String(length=60), nullable=True),
        sa.Column("benchmark_value", sa.String(length=40), nullable=True),
        sa.Column("benchmark_status", sa.String(length=12), nullable=True),
        sa.Column("activity", sa.String(length=40), nullable=False),
        sa.Column("factor", sa.String(length=40), nullable=False),
        sa.Column("deduction", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("pre_quantity", sa.BigInteger(), nullable=False),
        sa.Column("true_up_activity", sa.String(length=40), nullable=True),
        sa.Column("final_quantity", sa.BigInteger(), nullable=True),
        sa.Column("issued", sa.BigInteger(), nullable=False),
        sa.Column("owed", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_reg_allocation_lines_org_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["reg_allocation_plans.id"],
            name=op.f("fk_reg_allocation_lines_plan_id_reg_allocation_plans"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reg_allocation_lines")),
        sa.UniqueConstraint(
            "plan_id", "org_id", name=op.f("uq_reg_allocation_lines_plan_id_org_id")
        ),
    )
    op.create_index(
        op.f("ix_reg_allocation_lines_org_id"), "reg_allocation_lines", ["org_id"], unique=False
    )
    op.create_index(
        op.f("ix_reg_allocation_lines_plan_id"), "reg_allocation_lines", ["plan_id"], unique=False
    )
    op.create_table(
        "reg_surrenders",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("org_id", sa.String(length=26), nullable=False),
        sa.Column("market_code", sa.String(length=24), nullable=False),
        sa.Column("compliance_year", sa.Integer(), nullable=False),
        sa.Column("instrument_id", sa.String(length=26), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("tx_id", sa.String(length=26), nullable=False),
        sa.Column("created_by", sa.String(length=26), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["instrument_id"],
            ["reg_instruments.id"],
            name=op.f("fk_reg_surrenders_instrument_id_reg_instruments"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_reg_surrenders_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["tx_id"],
            ["reg_transactions.id"],
            name=op.f("fk_reg_surrenders_tx_id_reg_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reg_surrenders")),
    )
    op.create_index(op.f("ix_reg_surrenders_org_id"), "reg_surrenders", ["org_id"], unique=False)
    op.create_index(
        "ix_reg_surrenders_year", "reg_surrenders", ["market_code", "compliance_year"], unique=False
    )
    op.create_table(
        "reg_balances",
        sa.Column("account_id", sa.String(length=26), nullable=False),
        sa.Column("instrument_id", sa.String(length=26), nullable=False),
        sa.Column("posted", sa.BigInteger(), nullable=False),
        sa.Column("held", sa.BigInteger(), nullable=False),
        sa.Column("pledged", sa.BigInteger(), nullable=False),
        sa.Column("frozen", sa.BigInteger(), nullable=False),
        sa.Column("allow_negative", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "allow_negative OR (held >= 0 AND pledged >= 0 AND frozen >= 0 AND posted - held - pledged - frozen >= 0)",
            name=op.f("ck_reg_balances_non_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["reg_accounts.id"],
            name=op.f("fk_reg_balances_account_id_reg_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["instrument_id"],
            ["reg_instruments.id"],
            name=op.f("fk_reg_balances_instrument_id_reg_instruments"),
        ),
        sa.PrimaryKeyConstraint("account_id", "instrument_id", name=op.f("pk_reg_balances")),
    )
    op.create_index(
        op.f("ix_reg_balances_instrument_id"), "reg_balances", ["instrument_id"], unique=False
    )
    op.create_table(
        "reg_freezes",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("account_id", sa.String(length=26), nullable=False),
        sa.Column("instrument_id", sa.String(length=26), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=400), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("regulator_org_id", sa.String(length=26), nullable=False),
        sa.Column("created_by", sa.String(length=26), nullable=False),
        sa.Column("lifted_by", sa.String(length=26), nullable=True),
        sa.Column("lift_reason", sa.String(length=400), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["reg_accounts.id"], name=op.f("fk_reg_freezes_account_id_reg_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["instrument_id"],
            ["reg_instruments.id"],
            name=op.f("fk_reg_freezes_instrument_id_reg_instruments"),
        ),
        sa.ForeignKeyConstraint(
            ["regulator_org_id"],
            ["organisations.id"],
            name=op.f("fk_reg_freezes_regulator_org_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reg_freezes")),
    )
    op.create_index(op.f("ix_reg_freezes_account_id"), "reg_freezes", ["account_id"], unique=False)
    op.create_index(op.f("ix_reg_freezes_status"), "reg_freezes", ["status"], unique=False)
    op.create_table(
        "reg_holds",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("account_id", sa.String(length=26), nullable=False),
        sa.Column("instrument_id", sa.String(length=26), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("posted_amount", sa.BigInteger(), nullable=False),
        sa.Column("voided_amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=80), nullable=True),
        sa.Column("org_id", sa.String(length=26), nullable=False),
        sa.Column("created_by", sa.String(length=26), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["reg_accounts.id"], name=op.f("fk_reg_holds_account_id_reg_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["instrument_id"],
            ["reg_instruments.id"],
            name=op.f("fk_reg_holds_instrument_id_reg_instruments"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_reg_holds_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reg_holds")),
    )
    op.create_index(op.f("ix_reg_holds_account_id"), "reg_holds", ["account_id"], unique=False)
    op.create_index(op.f("ix_reg_holds_org_id"), "reg_holds", ["org_id"], unique=False)
    op.create_index(op.f("ix_reg_holds_reference"), "reg_holds", ["reference"], unique=False)
    op.create_index(op.f("ix_reg_holds_status"), "reg_holds", ["status"], unique=False)
    op.create_table(
        "reg_journal",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("tx_id", sa.String(length=26), nullable=False),
        sa.Column("instrument_id", sa.String(length=26), nullable=False),
        sa.Column("debit_account_id", sa.String(length=26), nullable=False),
        sa.Column("credit_account_id", sa.String(length=26), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_reg_journal_positive_amount")),
        sa.ForeignKeyConstraint(
            ["credit_account_id"],
            ["reg_accounts.id"],
            name=op.f("fk_reg_journal_credit_account_id_reg_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["debit_account_id"],
            ["reg_accounts.id"],
            name=op.f("fk_reg_journal_debit_account_id_reg_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["instrument_id"],
            ["reg_instruments.id"],
            name=op.f("fk_reg_journal_instrument_id_reg_instruments"),
        ),
        sa.ForeignKeyConstraint(
            ["tx_id"], ["reg_transactions.id"], name=op.f("fk_reg_journal_tx_id_reg_transactions")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_reg_journal")),
    )
    op.create_index(
        op.f("ix_reg_journal_credit_account_id"), "reg_journal", ["credit_account_id"], unique=False
    )
    op.create_index(
        op.f("ix_reg_journal_debit_account_id"), "reg_journal", ["debit_account_id"], unique=False
    )
    op.create_index(
        op.f("ix_reg_journal_instrument_id"), "reg_journal", ["instrument_id"], unique=False
    )
    op.create_index(op.f("ix_reg_journal_tx_id"), "reg_journal", ["tx_id"], unique=False)
    op.create_table(
        "reg_pledges",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("pledgor_org_id", sa.String(length=26), nullable=False),
        sa.Column("pledgee_org_id", sa.String(length=26), nullable=False),
        sa.Column("account_id", sa.String(length=26), nullable=False),
        sa.Column("instrument_id", sa.String(length=26), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reference", sa.String(length=80), nullable=False),
        sa.Column("created_by", sa.String(length=26), nullable=False),
        sa.Column("release_requested_by", sa.String(length=26), nullable=True),
        sa.Column("resolved_by", sa.String(length=26), nullable=True),
        sa.Column("tx_id", sa.String(length=26), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["reg_accounts.id"], name=op.f("fk_reg_pledges_account_id_reg_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["instrument_id"],
            ["reg_instruments.id"],
            name=op.f("fk_reg_pledges_instrument_id_reg_instruments"),
        ),
        sa.ForeignKeyConstraint(
            ["pledgee_org_id"],
            ["organisations.id"],
            name=op.f("fk_reg_pledges_pledgee_org_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["pledgor_org_id"],
            ["organisations.id"],
            name=op.f("fk_reg_pledges_pledgor_org_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reg_pledges")),
    )
    op.create_index(
        op.f("ix_reg_pledges_pledgee_org_id"), "reg_pledges", ["pledgee_org_id"], unique=False
    )
    op.create_index(
        op.f("ix_reg_pledges_pledgor_org_id"), "reg_pledges", ["pledgor_org_id"], unique=False
    )
    op.create_index(op.f("ix_reg_pledges_status"), "reg_pledges", ["status"], unique=False)
    op.create_table(
        "reg_retirements",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("org_id", sa.String(length=26), nullable=False),
        sa.Column("account_id", sa.String(length=26), nullable=False),
        sa.Column("instrument_id", sa.String(length=26), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("beneficiary", sa.String(length=200), nullable=False),
        sa.Column("purpose", sa.String(length=400), nullable=False),
        sa.Column("period_start", sa.String(length=10), nullable=False),
        sa.Column("period_end", sa.String(length=10), nullable=False),
        sa.Column("serials", sa.JSON(), nullable=False),
        sa.Column("tx_id", sa.String(length=26), nullable=False),
        sa.Column("leaf_index", sa.BigInteger(), nullable=True),
        sa.Column("created_by", sa.String(length=26), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["reg_accounts.id"],
            name=op.f("fk_reg_retirements_account_id_reg_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["instrument_id"],
            ["reg_instruments.id"],
            name=op.f("fk_reg_retirements_instrument_id_reg_instruments"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_reg_retirements_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["tx_id"],
            ["reg_transactions.id"],
            name=op.f("fk_reg_retirements_tx_id_reg_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reg_retirements")),
    )
    op.create_index(op.f("ix_reg_retirements_org_id"), "reg_retirements", ["org_id"], unique=False)
    op.create_table(
        "reg_serial_blocks",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("instrument_id", sa.String(length=26), nullable=False),
        sa.Column("account_id", sa.String(length=26), nullable=False),
        sa.Column("start_serial", sa.BigInteger(), nullable=False),
        sa.Column("end_serial", sa.BigInteger(), nullable=False),
        sa.Column("origin", sa.String(length=60), nullable=False),
        sa.Column("last_tx_id", sa.String(length=26), nullable=False),
        sa.CheckConstraint("end_serial >= start_serial", name=op.f("ck_reg_serial_blocks_ordered")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["reg_accounts.id"],
            name=op.f("fk_reg_serial_blocks_account_id_reg_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["instrument_id"],
            ["reg_instruments.id"],
            name=op.f("fk_reg_serial_blocks_instrument_id_reg_instruments"),
        ),
        sa.ForeignKeyConstraint(
            ["last_tx_id"],
            ["reg_transactions.id"],
            name=op.f("fk_reg_serial_blocks_last_tx_id_reg_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reg_serial_blocks")),
    )
    op.create_index(
        "ix_reg_serial_blocks_holding",
        "reg_serial_blocks",
        ["account_id", "instrument_id", "start_serial"],
        unique=False,
    )
    op.create_index(
        "ix_reg_serial_blocks_range",
        "reg_serial_blocks",
        ["instrument_id", "start_serial"],
        unique=False,
    )
    op.create_table(
        "reg_transfers",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("org_id", sa.String(length=26), nullable=False),
        sa.Column("from_account_id", sa.String(length=26), nullable=False),
        sa.Column("to_account_id", sa.String(length=26), nullable=False),
        sa.Column("instrument_id", sa.String(length=26), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("hold_id", sa.String(length=26), nullable=True),
        sa.Column("tx_id", sa.String(length=26), nullable=True),
        sa.Column("initiated_by", sa.String(length=26), nullable=False),
        sa.Column("approved_by", sa.String(length=26), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["from_account_id"],
            ["reg_accounts.id"],
            name=op.f("fk_reg_transfers_from_account_id_reg_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["instrument_id"],
            ["reg_instruments.id"],
            name=op.f("fk_reg_transfers_instrument_id_reg_instruments"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_reg_transfers_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["to_account_id"],
            ["reg_accounts.id"],
            name=op.f("fk_reg_transfers_to_account_id_reg_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reg_transfers")),
    )
    op.create_index(op.f("ix_reg_transfers_org_id"), "reg_transfers", ["org_id"], unique=False)
    op.create_index(op.f("ix_reg_transfers_status"), "reg_transfers", ["status"], unique=False)
    op.create_table(
        "reg_trusted_accounts",
        sa.Column("org_id", sa.String(length=26), nullable=False),
        sa.Column("account_id", sa.String(length=26), nullable=False),
        sa.Column("added_by", sa.String(length=26), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["reg_accounts.id"],
            name=op.f("fk_reg_trusted_accounts_account_id_reg_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_reg_trusted_accounts_org_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("org_id", "account_id", name=op.f("pk_reg_trusted_accounts")),
    )
    op.create_table(
        "reg_serial_moves",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "journal_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("tx_id", sa.String(length=26), nullable=False),
        sa.Column("instrument_id", sa.String(length=26), nullable=False),
        sa.Column("start_serial", sa.BigInteger(), nullable=False),
        sa.Column("end_serial", sa.BigInteger(), nullable=False),
        sa.Column("from_account_id", sa.String(length=26), nullable=False),
        sa.Column("to_account_id", sa.String(length=26), nullable=False),
        sa.Column("origin", sa.String(length=60), nullable=False),
        sa.ForeignKeyConstraint(
            ["from_account_id"],
            ["reg_accounts.id"],
            name=op.f("fk_reg_serial_moves_from_account_id_reg_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["instrument_id"],
            ["reg_instruments.id"],
            name=op.f("fk_reg_serial_moves_instrument_id_reg_instruments"),
        ),
        sa.ForeignKeyConstraint(
            ["journal_seq"],
            ["reg_journal.seq"],
            name=op.f("fk_reg_serial_moves_journal_seq_reg_journal"),
        ),
        sa.ForeignKeyConstraint(
            ["to_account_id"],
            ["reg_accounts.id"],
            name=op.f("fk_reg_serial_moves_to_account_id_reg_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["tx_id"],
            ["reg_transactions.id"],
            name=op.f("fk_reg_serial_moves_tx_id_reg_transactions"),
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_reg_serial_moves")),
    )
    op.create_index(
        op.f("ix_reg_serial_moves_journal_seq"), "reg_serial_moves", ["journal_seq"], unique=False
    )
    op.create_index(
        "ix_reg_serial_moves_range",
        "reg_serial_moves",
        ["instrument_id", "start_serial"],
        unique=False,
    )
    op.create_index(op.f("ix_reg_serial_moves_tx_id"), "reg_serial_moves", ["tx_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_reg_serial_moves_tx_id"), table_name="reg_serial_moves")
    op.drop_index("ix_reg_serial_moves_range", table_name="reg_serial_moves")
    op.drop_index(op.f("ix_reg_serial_moves_journal_seq"), table_name="reg_serial_moves")
    op.drop_table("reg_serial_moves")
    op.drop_table("reg_trusted_accounts")
    op.drop_index(op.f("ix_reg_transfers_status"), table_name="reg_transfers")
    op.drop_index(op.f("ix_reg_transfers_org_id"), table_name="reg_transfers")
    op.drop_table("reg_transfers")
    op.drop_index("ix_reg_serial_blocks_range", table_name="reg_serial_blocks")
    op.drop_index("ix_reg_serial_blocks_holding", table_name="reg_serial_blocks")
    op.drop_table("reg_serial_blocks")
    op.drop_index(op.f("ix_reg_retirements_org_id"), table_name="reg_retirements")
    op.drop_table("reg_retirements")
    op.drop_index(op.f("ix_reg_pledges_status"), table_name="reg_pledges")
    op.drop_index(op.f("ix_reg_pledges_pledgor_org_id"), table_name="reg_pledges")
    op.drop_index(op.f("ix_reg_pledges_pledgee_org_id"), table_name="reg_pledges")
    op.drop_table("reg_pledges")
    op.drop_index(op.f("ix_reg_journal_tx_id"), table_name="reg_journal")
    op.drop_index(op.f("ix_reg_journal_instrument_id"), table_name="reg_journal")
    op.drop_index(op.f("ix_reg_journal_debit_account_id"), table_name="reg_journal")
    op.drop_index(op.f("ix_reg_journal_credit_account_id"), table_name="reg_journal")
    op.drop_table("reg_journal")
    op.drop_index(op.f("ix_reg_holds_status"), table_name="reg_holds")
    op.drop_index(op.f("ix_reg_holds_reference"), table_name="reg_holds")
    op.drop_index(op.f("ix_reg_holds_org_id"), table_name="reg_holds")
    op.drop_index(op.f("ix_reg_holds_account_id"), table_name="reg_holds")
    op.drop_table("reg_holds")
    op.drop_index(op.f("ix_reg_freezes_status"), table_name="reg_freezes")
    op.drop_index(op.f("ix_reg_freezes_account_id"), table_name="reg_freezes")
    op.drop_table("reg_freezes")
    op.drop_index(op.f("ix_reg_balances_instrument_id"), table_name="reg_balances")
    op.drop_table("reg_balances")
    op.drop_index("ix_reg_surrenders_year", table_name="reg_surrenders")
    op.drop_index(op.f("ix_reg_surrenders_org_id"), table_name="reg_surrenders")
    op.drop_table("reg_surrenders")
    op.drop_index(op.f("ix_reg_allocation_lines_plan_id"), table_name="reg_allocation_lines")
    op.drop_index(op.f("ix_reg_allocation_lines_org_id"), table_name="reg_allocation_lines")
    op.drop_table("reg_allocation_lines")
    op.drop_index(op.f("ix_reg_accounts_org_id"), table_name="reg_accounts")
    op.drop_index(op.f("ix_reg_accounts_market_code"), table_name="reg_accounts")
    op.drop_index(op.f("ix_reg_accounts_kind"), table_name="reg_accounts")
    op.drop_table("reg_accounts")
    op.drop_index(op.f("ix_reg_allocation_plans_status"), table_name="reg_allocation_plans")
    op.drop_table("reg_allocation_plans")
    op.drop_index(op.f("ix_reg_transactions_reference"), table_name="reg_transactions")
    op.drop_index(op.f("ix_reg_transactions_kind"), table_name="reg_transactions")
    op.drop_index(op.f("ix_reg_transactions_actor_org_id"), table_name="reg_transactions")
    op.drop_table("reg_transactions")
    op.drop_index(op.f("ix_reg_instruments_market_code"), table_name="reg_instruments")
    op.drop_table("reg_instruments")
    op.drop_table("reg_idempotency")
