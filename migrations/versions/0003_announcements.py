"""announcements: announcements, their audience groups, and the recipients snapshot

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 08:36:07.639858

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('announcements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.Column('summary', sa.String(length=200), nullable=False),
    sa.Column('category', sa.Enum('notice', 'publicity', 'factory_affairs', name='announcement_category', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('whole_union', sa.Boolean(), nullable=False),
    sa.Column('pinned', sa.Boolean(), nullable=False),
    sa.Column('push', sa.Boolean(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'scheduled', 'published', 'withdrawn', name='announcement_status', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('publish_at', sa.DateTime(), nullable=True),
    sa.Column('published_at', sa.DateTime(), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("status != 'draft' OR (publish_at IS NULL AND published_at IS NULL AND withdrawn_at IS NULL)", name=op.f('ck_announcements_draft_has_no_times')),
    sa.CheckConstraint("status != 'published' OR (published_at IS NOT NULL AND withdrawn_at IS NULL)", name=op.f('ck_announcements_published_has_published_at')),
    sa.CheckConstraint("status != 'scheduled' OR (publish_at IS NOT NULL AND published_at IS NULL AND withdrawn_at IS NULL)", name=op.f('ck_announcements_scheduled_has_publish_at')),
    sa.CheckConstraint("status != 'withdrawn' OR (published_at IS NOT NULL AND withdrawn_at IS NOT NULL)", name=op.f('ck_announcements_withdrawn_has_both_times')),
    sa.ForeignKeyConstraint(['author_id'], ['staff.id'], name=op.f('fk_announcements_author_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_announcements'))
    )
    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_announcements_author_id'), ['author_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_announcements_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_announcements_published_at'), ['published_at'], unique=False)
        batch_op.create_index('ix_announcements_status_publish_at', ['status', 'publish_at'], unique=False)

    op.create_table('announcement_groups',
    sa.Column('announcement_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['announcement_id'], ['announcements.id'], name=op.f('fk_announcement_groups_announcement_id_announcements'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_announcement_groups_group_id_groups')),
    sa.PrimaryKeyConstraint('announcement_id', 'group_id', name=op.f('pk_announcement_groups'))
    )
    with op.batch_alter_table('announcement_groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_announcement_groups_group_id'), ['group_id'], unique=False)

    op.create_table('announcement_recipients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('announcement_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('in_snapshot', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('read_at', sa.DateTime(), nullable=True),
    sa.Column('last_reminded_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['announcement_id'], ['announcements.id'], name=op.f('fk_announcement_recipients_announcement_id_announcements'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_announcement_recipients_group_id_groups')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_announcement_recipients_member_id_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_announcement_recipients')),
    sa.UniqueConstraint('announcement_id', 'member_id', name=op.f('uq_announcement_recipients_announcement_id_member_id'))
    )
    with op.batch_alter_table('announcement_recipients', schema=None) as batch_op:
        batch_op.create_index('ix_announcement_recipients_announcement_id_group_id', ['announcement_id', 'group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_announcement_recipients_member_id'), ['member_id'], unique=False)



def downgrade():
    with op.batch_alter_table('announcement_recipients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_announcement_recipients_member_id'))
        batch_op.drop_index('ix_announcement_recipients_announcement_id_group_id')

    op.drop_table('announcement_recipients')
    with op.batch_alter_table('announcement_groups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_announcement_groups_group_id'))

    op.drop_table('announcement_groups')
    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.drop_index('ix_announcements_status_publish_at')
        batch_op.drop_index(batch_op.f('ix_announcements_published_at'))
        batch_op.drop_index(batch_op.f('ix_announcements_category'))
        batch_op.drop_index(batch_op.f('ix_announcements_author_id'))

    op.drop_table('announcements')
