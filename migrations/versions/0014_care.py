"""care visits: the yearly policy table with its history, care requests with their timeline and
attachments, visits with photos, receipts and ratings, festival campaigns (one visit per member each)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 10:15:01.493662

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('care_policy_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('category', sa.Enum('hospitalization', 'serious_illness', 'bereavement', 'marriage', 'childbirth', 'retirement', 'festival', 'birthday', 'hardship', 'other', name='care_category', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('standard', sa.String(length=500), nullable=False),
    sa.Column('max_amount_fen', sa.Integer(), nullable=False),
    sa.Column('frequency', sa.Enum('per_event', 'per_year', 'once', name='care_frequency', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('cash_allowed', sa.Boolean(), nullable=False),
    sa.Column('relatives', sa.String(length=200), nullable=False),
    sa.Column('budget_fen', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('max_amount_fen >= 0', name=op.f('ck_care_policy_rules_max_amount_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_policy_rules')),
    sa.UniqueConstraint('year', 'category', name=op.f('uq_care_policy_rules_year_category'))
    )
    op.create_table('care_policy_years',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('festival_cap_fen', sa.Integer(), nullable=True),
    sa.Column('festival_warn_percent', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_policy_years')),
    sa.UniqueConstraint('year', name=op.f('uq_care_policy_years_year'))
    )
    op.create_table('care_campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('festival', sa.String(length=50), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('visit_on', sa.Date(), nullable=False),
    sa.Column('gift', sa.String(length=200), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_run_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['staff.id'], name=op.f('fk_care_campaigns_created_by_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_campaigns'))
    )
    op.create_table('care_policy_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=24), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=False),
    sa.Column('changed_by_id', sa.Integer(), nullable=True),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['changed_by_id'], ['staff.id'], name=op.f('fk_care_policy_changes_changed_by_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_policy_changes'))
    )
    with op.batch_alter_table('care_policy_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_care_policy_changes_year'), ['year'], unique=False)

    op.create_table('care_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.Enum('hospitalization', 'serious_illness', 'bereavement', 'marriage', 'childbirth', 'retirement', 'festival', 'birthday', 'hardship', 'other', name='care_category', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('submitted', 'scheduled', 'visited', 'closed', name='care_request_status', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('content_state', sa.Enum('passed', 'held', 'released', name='care_content_state', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('content_trace_id', sa.String(length=64), nullable=True),
    sa.Column('scheduled_on', sa.Date(), nullable=True),
    sa.Column('visitors', sa.String(length=200), nullable=False),
    sa.Column('closed_reason', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_care_requests_member_id_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_requests'))
    )
    with op.batch_alter_table('care_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_care_requests_member_id'), ['member_id'], unique=False)
        batch_op.create_index('ix_care_requests_status_created_at', ['status', 'created_at'], unique=False)

    op.create_table('care_campaign_groups',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['care_campaigns.id'], name=op.f('fk_care_campaign_groups_campaign_id_care_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_care_campaign_groups_group_id_groups')),
    sa.PrimaryKeyConstraint('campaign_id', 'group_id', name=op.f('pk_care_campaign_groups'))
    )
    with op.batch_alter_table('care_campaign_groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_care_campaign_groups_group_id'), ['group_id'], unique=False)

    op.create_table('care_request_attachments',
    sa.Column('upload_id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['care_requests.id'], name=op.f('fk_care_request_attachments_request_id_care_requests'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['upload_id'], ['uploads.id'], name=op.f('fk_care_request_attachments_upload_id_uploads'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('upload_id', name=op.f('pk_care_request_attachments'))
    )
    with op.batch_alter_table('care_request_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_care_request_attachments_request_id'), ['request_id'], unique=False)

    op.create_table('care_request_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('submitted', 'scheduled', 'visited', 'closed', name='care_request_status', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['care_requests.id'], name=op.f('fk_care_request_events_request_id_care_requests'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_care_request_events_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_request_events'))
    )
    with op.batch_alter_table('care_request_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_care_request_events_request_id'), ['request_id'], unique=False)

    op.create_table('care_visits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.Enum('hospitalization', 'serious_illness', 'bereavement', 'marriage', 'childbirth', 'retirement', 'festival', 'birthday', 'hardship', 'other', name='care_category', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('status', sa.Enum('planned', 'done', name='care_visit_status', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('visited_on', sa.Date(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('visitors', sa.String(length=200), nullable=False),
    sa.Column('gift', sa.String(length=200), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('is_cash', sa.Boolean(), nullable=False),
    sa.Column('notes', sa.String(length=1000), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=True),
    sa.Column('campaign_id', sa.Integer(), nullable=True),
    sa.Column('override_reason', sa.String(length=300), nullable=False),
    sa.Column('override_rules', sa.JSON(), nullable=True),
    sa.Column('override_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('received_at', sa.DateTime(), nullable=True),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('comment', sa.String(length=500), nullable=False),
    sa.Column('rated_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('amount_fen >= 0', name=op.f('ck_care_visits_amount_not_negative')),
    sa.CheckConstraint('rating IS NULL OR (rating >= 1 AND rating <= 5)', name=op.f('ck_care_visits_rating_in_range')),
    sa.ForeignKeyConstraint(['campaign_id'], ['care_campaigns.id'], name=op.f('fk_care_visits_campaign_id_care_campaigns')),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_care_visits_group_id_groups')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_care_visits_member_id_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['override_by_id'], ['staff.id'], name=op.f('fk_care_visits_override_by_id_staff')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['staff.id'], name=op.f('fk_care_visits_recorded_by_id_staff')),
    sa.ForeignKeyConstraint(['request_id'], ['care_requests.id'], name=op.f('fk_care_visits_request_id_care_requests'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_visits')),
    sa.UniqueConstraint('campaign_id', 'member_id', name=op.f('uq_care_visits_campaign_id_member_id'))
    )
    with op.batch_alter_table('care_visits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_care_visits_group_id'), ['group_id'], unique=False)
        batch_op.create_index('ix_care_visits_member_id_category', ['member_id', 'category'], unique=False)
        batch_op.create_index(batch_op.f('ix_care_visits_request_id'), ['request_id'], unique=False)
        batch_op.create_index('ix_care_visits_year_category', ['year', 'category'], unique=False)

    op.create_table('care_visit_photos',
    sa.Column('upload_id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['upload_id'], ['uploads.id'], name=op.f('fk_care_visit_photos_upload_id_uploads'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['visit_id'], ['care_visits.id'], name=op.f('fk_care_visit_photos_visit_id_care_visits'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('upload_id', name=op.f('pk_care_visit_photos'))
    )
    with op.batch_alter_table('care_visit_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_care_visit_photos_visit_id'), ['visit_id'], unique=False)



def downgrade():
    with op.batch_alter_table('care_visit_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_care_visit_photos_visit_id'))

    op.drop_table('care_visit_photos')
    with op.batch_alter_table('care_visits', schema=None) as batch_op:
        batch_op.drop_index('ix_care_visits_year_category')
        batch_op.drop_index(batch_op.f('ix_care_visits_request_id'))
        batch_op.drop_index('ix_care_visits_member_id_category')
        batch_op.drop_index(batch_op.f('ix_care_visits_group_id'))

    op.drop_table('care_visits')
    with op.batch_alter_table('care_request_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_care_request_events_request_id'))

    op.drop_table('care_request_events')
    with op.batch_alter_table('care_request_attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_care_request_attachments_request_id'))

    op.drop_table('care_request_attachments')
    with op.batch_alter_table('care_campaign_groups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_care_campaign_groups_group_id'))

    op.drop_table('care_campaign_groups')
    with op.batch_alter_table('care_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_care_requests_status_created_at')
        batch_op.drop_index(batch_op.f('ix_care_requests_member_id'))

    op.drop_table('care_requests')
    with op.batch_alter_table('care_policy_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_care_policy_changes_year'))

    op.drop_table('care_policy_changes')
    op.drop_table('care_campaigns')
    op.drop_table('care_policy_years')
    op.drop_table('care_policy_rules')
