"""notifications to a WeChat account without a roster member (a rejected join request is told too)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-09 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('wechat_account_id', sa.Integer(), nullable=True))
        batch_op.alter_column('member_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key(
            batch_op.f('fk_notifications_wechat_account_id_wechat_accounts'),
            'wechat_accounts', ['wechat_account_id'], ['id'], ondelete='CASCADE',
        )
        batch_op.create_check_constraint(
            batch_op.f('ck_notifications_has_recipient'),
            'member_id IS NOT NULL OR wechat_account_id IS NOT NULL',
        )
        batch_op.create_index(
            'ix_notifications_account_created', ['wechat_account_id', 'created_at'], unique=False,
            postgresql_where=sa.text('wechat_account_id IS NOT NULL'),
            sqlite_where=sa.text('wechat_account_id IS NOT NULL'),
        )


def downgrade():
    op.execute('DELETE FROM notifications WHERE member_id IS NULL')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_account_created')
        batch_op.drop_constraint(batch_op.f('ck_notifications_has_recipient'), type_='check')
        batch_op.drop_constraint(
            batch_op.f('fk_notifications_wechat_account_id_wechat_accounts'), type_='foreignkey'
        )
        batch_op.alter_column('member_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('wechat_account_id')
