"""hardship: the household file's review history (one row per yearly review), and the staff override of
the tier the declared figures give (tier, reason encrypted, who, when) on the application

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 13:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

TIERS = ('deep', 'relative', 'sudden', 'none')


def _tier(name):
    return sa.Enum(*TIERS, name=name, native_enum=False, create_constraint=True, length=24)


def upgrade():
    op.create_table('hardship_file_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(), nullable=False),
    sa.Column('reviewed_on', sa.Date(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.Enum('keep', 'change_tier', 'close', name='hardship_review_outcome', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('tier_before', _tier('hardship_review_tier_before'), nullable=False),
    sa.Column('tier_after', _tier('hardship_review_tier_after'), nullable=False),
    sa.Column('closing_reason', sa.Enum('escaped', 'removed', name='hardship_review_closing', native_enum=False, create_constraint=True, length=24), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['file_id'], ['hardship_files.id'], name=op.f('fk_hardship_file_reviews_file_id_hardship_files'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_hardship_file_reviews_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hardship_file_reviews'))
    )
    with op.batch_alter_table('hardship_file_reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hardship_file_reviews_file_id'), ['file_id'], unique=False)

    with op.batch_alter_table('hardship_applications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tier_override', _tier('hardship_tier_override'), nullable=True))
        batch_op.add_column(sa.Column('tier_override_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('tier_override_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('tier_override_at', sa.DateTime(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_hardship_applications_tier_override_by_id_staff'), 'staff', ['tier_override_by_id'], ['id'])


def downgrade():
    with op.batch_alter_table('hardship_applications', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_hardship_applications_tier_override_by_id_staff'), type_='foreignkey')
        batch_op.drop_column('tier_override_at')
        batch_op.drop_column('tier_override_by_id')
        batch_op.drop_column('tier_override_reason')
        batch_op.drop_column('tier_override')

    with op.batch_alter_table('hardship_file_reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hardship_file_reviews_file_id'))

    op.drop_table('hardship_file_reviews')
