"""members' retirement date (退休日期, the care due list); care visits: the event a per-event visit is for
(event_on), and a flag on a feedback comment held by content security (comment_held)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 13:20:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retires_on", sa.Date(), nullable=True))
    with op.batch_alter_table("care_visits", schema=None) as batch_op:
        batch_op.add_column(sa.Column("event_on", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("comment_held", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade():
    with op.batch_alter_table("care_visits", schema=None) as batch_op:
        batch_op.drop_column("comment_held")
        batch_op.drop_column("event_on")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("retires_on")
