"""Events by rep and date: every route request asks whether the rep's day has events.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_events_rep_date", "events", ["rep_id", "date"])


def downgrade() -> None:
    op.drop_index("ix_events_rep_date", table_name="events")
