"""notification withdrawn_at: the inbox shows a withdrawn announcement's messages as withdrawn, without their text

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('withdrawn_at', sa.DateTime(), nullable=True))

    # Announcements withdrawn before this column existed: their messages are withdrawn too.
    op.execute(
        "UPDATE notifications SET withdrawn_at = ("
        " SELECT a.withdrawn_at FROM announcements a"
        " WHERE notifications.dedupe_key LIKE 'announcement:' || a.id || ':%')"
        " WHERE kind = 'announcement' AND EXISTS ("
        " SELECT 1 FROM announcements a WHERE a.status = 'withdrawn'"
        " AND notifications.dedupe_key LIKE 'announcement:' || a.id || ':%')"
    )


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('withdrawn_at')
