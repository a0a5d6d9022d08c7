"""hardship_funds: drop granted_fen and disbursed_fen (nothing writes or reads them: what was granted and
paid is summed from the applications; the row stays the year's lock)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 15:35:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("hardship_funds", schema=None) as batch_op:
        batch_op.drop_column("disbursed_fen")
        batch_op.drop_column("granted_fen")


def downgrade():
    with op.batch_alter_table("hardship_funds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("granted_fen", sa.BigInteger(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("disbursed_fen", sa.BigInteger(), server_default="0", nullable=False))
