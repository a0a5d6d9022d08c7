"""members.phone_last4_index: the member list's search by the last four digits of a phone

A keyed hash of the phone's last four digits (backend/crypto.py last4_index). This migration cannot
fill it for members already on the roster: the key is not in the database, and the phone is encrypted.
Run `flask reindex-phones` once after upgrading (or `flask rotate-data-key`, which rebuilds every
index); until then those members are not found by the last four digits.

Numbered 0009 after 0007: a branch merged alongside adds its own 0008; whichever lands second points
its down_revision at the other.

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-08 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone_last4_index', sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f('ix_members_phone_last4_index'), ['phone_last4_index'], unique=False)


def downgrade():
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_members_phone_last4_index'))
        batch_op.drop_column('phone_last4_index')
