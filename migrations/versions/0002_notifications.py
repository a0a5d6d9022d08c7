"""notifications: the ledger (inbox + WeChat delivery outbox) and subscribe credits

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 08:35:51.340565

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('announcement', 'activity', 'application', 'care', 'system', name='notification_kind', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('link', sa.String(length=500), nullable=True),
    sa.Column('data', sa.JSON(), nullable=True),
    sa.Column('dedupe_key', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('read_at', sa.DateTime(), nullable=True),
    sa.Column('wechat_state', sa.Enum('pending', 'sending', 'sent', 'no_credit', 'failed', 'skipped', name='delivery_state', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error_code', sa.String(length=40), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=True),
    sa.Column('claimed_until', sa.DateTime(), nullable=True),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("wechat_state != 'sending' OR claimed_until IS NOT NULL", name=op.f('ck_notifications_sending_has_lease')),
    sa.CheckConstraint("wechat_state != 'sent' OR sent_at IS NOT NULL", name=op.f('ck_notifications_sent_has_time')),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_notifications_attempts_not_negative')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_notifications_member_id_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_notifications_dedupe_key'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_due', ['wechat_state', 'next_attempt_at'], unique=False, postgresql_where=sa.text("wechat_state IN ('pending', 'sending')"), sqlite_where=sa.text("wechat_state IN ('pending', 'sending')"))
        batch_op.create_index('ix_notifications_member_created', ['member_id', 'created_at'], unique=False)

    op.create_table('subscription_credits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('wechat_account_id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.String(length=64), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('count >= 0', name=op.f('ck_subscription_credits_count_not_negative')),
    sa.ForeignKeyConstraint(['wechat_account_id'], ['wechat_accounts.id'], name=op.f('fk_subscription_credits_wechat_account_id_wechat_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscription_credits')),
    sa.UniqueConstraint('wechat_account_id', 'template_id', name=op.f('uq_subscription_credits_wechat_account_id_template_id'))
    )


def downgrade():
    op.drop_table('subscription_credits')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_member_created')
        batch_op.drop_index('ix_notifications_due', postgresql_where=sa.text("wechat_state IN ('pending', 'sending')"), sqlite_where=sa.text("wechat_state IN ('pending', 'sending')"))

    op.drop_table('notifications')
