"""uploads: uploaded files, announcement attachments, and idempotency keys

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('uploads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('filename', sa.String(length=120), nullable=False),
    sa.Column('content_type', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_name', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('attached_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint('(member_id IS NULL) <> (staff_id IS NULL)', name=op.f('ck_uploads_one_owner')),
    sa.CheckConstraint('size > 0', name=op.f('ck_uploads_size_positive')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_uploads_member_id_members')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_uploads_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_uploads')),
    sa.UniqueConstraint('storage_name', name=op.f('uq_uploads_storage_name'))
    )
    with op.batch_alter_table('uploads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_uploads_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_uploads_staff_id'), ['staff_id'], unique=False)
        batch_op.create_index('ix_uploads_unattached_created', ['created_at'], unique=False, postgresql_where=sa.text('attached_at IS NULL'), sqlite_where=sa.text('attached_at IS NULL'))

    op.create_table('announcement_attachments',
    sa.Column('upload_id', sa.Integer(), nullable=False),
    sa.Column('announcement_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['announcement_id'], ['announcements.id'], name=op.f('fk_announcement_attachments_announcement_id_announcements'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['upload_id'], ['uploads.id'], name=op.f('fk_announcement_attachments_upload_id_uploads'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('upload_id', name=op.f('pk_announcement_attachments'))
    )
    with op.batch_alter_table('announcement_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_announcement_attachments_announcement_id'), ['announcement_id'], unique=False)

    op.create_table('idempotency_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('wechat_account_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('endpoint', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('response_status', sa.Integer(), nullable=True),
    sa.Column('response_body', sa.Text(), nullable=True),
    sa.Column('response_type', sa.String(length=100), nullable=True),
    sa.Column('completed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['wechat_account_id'], ['wechat_accounts.id'], name=op.f('fk_idempotency_keys_wechat_account_id_wechat_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_keys')),
    sa.UniqueConstraint('wechat_account_id', 'key', name=op.f('uq_idempotency_keys_wechat_account_id_key'))
    )
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idempotency_keys_created_at'), ['created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idempotency_keys_created_at'))

    op.drop_table('idempotency_keys')
    with op.batch_alter_table('announcement_attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_announcement_attachments_announcement_id'))

    op.drop_table('announcement_attachments')
    with op.batch_alter_table('uploads', schema=None) as batch_op:
        batch_op.drop_index('ix_uploads_unattached_created', postgresql_where=sa.text('attached_at IS NULL'), sqlite_where=sa.text('attached_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_uploads_staff_id'))
        batch_op.drop_index(batch_op.f('ix_uploads_member_id'))

    op.drop_table('uploads')
