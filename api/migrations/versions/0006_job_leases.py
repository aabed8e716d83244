"""Job leases: a running job's worker renews ``lease_until``; a job whose lease ran out is
failed. The worker's host and process id, which stood for it before, go.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("lease_until", sa.DateTime(), nullable=True))
    op.drop_column("jobs", "pid")  # plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+): no table rebuild
    op.drop_column("jobs", "host")


def downgrade() -> None:
    op.add_column("jobs", sa.Column("host", sa.String(length=255), nullable=True))
    op.add_column("jobs", sa.Column("pid", sa.Integer(), nullable=True))
    op.drop_column("jobs", "lease_until")
