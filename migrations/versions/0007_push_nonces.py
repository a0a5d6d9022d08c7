"""push nonces: the signatures of recent WeChat pushes, so that a captured callback URL cannot carry another body

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('wechat_push_nonces',
    sa.Column('signature', sa.String(length=40), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('signature', name=op.f('pk_wechat_push_nonces'))
    )
    with op.batch_alter_table('wechat_push_nonces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wechat_push_nonces_received_at'), ['received_at'], unique=False)


def downgrade():
    with op.batch_alter_table('wechat_push_nonces', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wechat_push_nonces_received_at'))

    op.drop_table('wechat_push_nonces')
