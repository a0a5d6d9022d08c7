"""roster imports as background jobs (roster_imports), and members.phone_last4_index for the list's search

roster_imports: one row per confirmed import, with the file until it ends, its progress and its report,
so that any web machine answers the progress page and any worker resumes an interrupted run.

members.phone_last4_index: a keyed hash of the phone's last four digits (backend/crypto.py last4_index).
This migration cannot fill it for members already on the roster: the key is not in the database, and
the phone is encrypted. Run `flask reindex-phones` once after upgrading (or `flask rotate-data-key`,
which rebuilds every index); until then those members are not found by the last four digits.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('roster_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('status', sa.Enum('queued', 'running', 'done', 'failed', name='roster_import_status', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=True),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('error_count', sa.Integer(), nullable=False),
    sa.Column('errors', sa.JSON(), nullable=False),
    sa.Column('message', sa.String(length=500), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.Column('user_agent', sa.String(length=200), nullable=False),
    sa.Column('run_token', sa.String(length=32), nullable=True),
    sa.Column('lease_until', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("(status IN ('done', 'failed')) = (finished_at IS NOT NULL)", name=op.f('ck_roster_imports_finished_matches_status')),
    sa.CheckConstraint('done >= 0 AND done <= total', name=op.f('ck_roster_imports_done_within_total')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_roster_imports_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roster_imports'))
    )
    with op.batch_alter_table('roster_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roster_imports_staff_id'), ['staff_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_roster_imports_status'), ['status'], unique=False)

    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone_last4_index', sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f('ix_members_phone_last4_index'), ['phone_last4_index'], unique=False)


def downgrade():
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_members_phone_last4_index'))
        batch_op.drop_column('phone_last4_index')

    with op.batch_alter_table('roster_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roster_imports_status'))
        batch_op.drop_index(batch_op.f('ix_roster_imports_staff_id'))

    op.drop_table('roster_imports')
