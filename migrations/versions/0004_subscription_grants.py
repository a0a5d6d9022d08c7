"""subscription grants: pairing a tap's client report with WeChat's push, and pushes already handled

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 09:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('handled_pushes',
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('event', sa.String(length=64), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('digest', name=op.f('pk_handled_pushes'))
    )
    with op.batch_alter_table('handled_pushes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_handled_pushes_received_at'), ['received_at'], unique=False)

    op.create_table('subscription_grants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('wechat_account_id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.String(length=64), nullable=False),
    sa.Column('source', sa.Enum('client', 'push', name='subscription_grant_source', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('paired_with_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['wechat_account_id'], ['wechat_accounts.id'], name=op.f('fk_subscription_grants_wechat_account_id_wechat_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscription_grants'))
    )
    with op.batch_alter_table('subscription_grants', schema=None) as batch_op:
        batch_op.create_index('ix_subscription_grants_pairing', ['wechat_account_id', 'template_id', 'received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_subscription_grants_received_at'), ['received_at'], unique=False)


def downgrade():
    with op.batch_alter_table('subscription_grants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscription_grants_received_at'))
        batch_op.drop_index('ix_subscription_grants_pairing')

    op.drop_table('subscription_grants')
    with op.batch_alter_table('handled_pushes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_handled_pushes_received_at'))

    op.drop_table('handled_pushes')
