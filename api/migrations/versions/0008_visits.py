"""Actual visits: every check-in and check-out pair, from the app or imported (follow-up), in
place of the check-outs' reports (their rows are kept as visits); monthly targets per rep or area.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "visits",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("rep_id", sa.String(length=200), nullable=False),
        sa.Column("store_id", sa.String(length=200), nullable=False),
        sa.Column("date", sa.String(length=10), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=True),
        sa.Column("checked_in_at", sa.DateTime(), nullable=False),
        sa.Column("checked_out_at", sa.DateTime(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("order_value", sa.Float(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("far", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("written_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_visits_store_date", "visits", ["store_id", "date"])
    op.create_index("ix_visits_rep_date", "visits", ["rep_id", "date"])
    op.create_index("ix_visits_date", "visits", ["date"])
    op.create_table(
        "targets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("rep_id", sa.String(length=200), nullable=False),
        sa.Column("area", sa.String(length=100), nullable=False),
        sa.Column("order_value", sa.Float(), nullable=True),
        sa.Column("visits", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("month", "rep_id", "area", name="uq_targets_month_rep_area"),
    )
    # the check-outs' reports so far: visits whose check-in is not known (taken as the check-out)
    op.execute("INSERT INTO visits (id, rep_id, store_id, date, plan_id, checked_in_at, checked_out_at, outcome, order_value, "
               "currency, note, steps, far, source, written_at) SELECT 'report:' || CAST(id AS VARCHAR(20)), rep_id, store_id, "
               "date, plan_id, checked_out_at, checked_out_at, outcome, order_value, NULL, note, steps, false, 'app', "
               "checked_out_at FROM visit_reports")
    op.drop_index("ix_visit_reports_rep_date", table_name="visit_reports")
    op.drop_index("ix_visit_reports_store_date", table_name="visit_reports")
    op.drop_table("visit_reports")


def downgrade() -> None:
    op.create_table(
        "visit_reports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("store_id", sa.String(length=200), nullable=False),
        sa.Column("rep_id", sa.String(length=200), nullable=False),
        sa.Column("date", sa.String(length=10), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=True),
        sa.Column("checked_out_at", sa.DateTime(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("order_value", sa.Float(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_visit_reports_store_date", "visit_reports", ["store_id", "date"])
    op.create_index("ix_visit_reports_rep_date", "visit_reports", ["rep_id", "date"])
    op.execute("INSERT INTO visit_reports (store_id, rep_id, date, plan_id, checked_out_at, outcome, order_value, note, steps) "
               "SELECT store_id, rep_id, date, plan_id, checked_out_at, outcome, order_value, note, steps FROM visits "
               "WHERE outcome IS NOT NULL")
    op.drop_table("targets")
    op.drop_index("ix_visits_date", table_name="visits")
    op.drop_index("ix_visits_rep_date", table_name="visits")
    op.drop_index("ix_visits_store_date", table_name="visits")
    op.drop_table("visits")
