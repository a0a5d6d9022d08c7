"""binding proof: what shows a bound WeChat account is the member's own, and refused bindings per 工号

A colleague who knows a member's name and 工号 could bind to them. From now on a binding records its proof
(wechat_accounts.binding_proof): `phone` when the phone WeChat verified equals the roster's, `staff` when a
staff member confirmed it or approved the account's join request; NULL (name + 工号 only) is listed in the
admin for staff to confirm, and /me/export shows the full phone only for a proved binding. Refused
bindings (wrong name or phone) are counted per member and day in binding_failures.

Accounts bound before this migration: those bound by approving their join request get `staff` (the
reviewer and time of the approval); every other binding was made by name + 工号 (a phone, when sent, was
not recorded), so it gets NULL and waits for staff to confirm it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 07:41:10.370465

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


APPROVED = """
    FROM join_requests
    WHERE join_requests.wechat_account_id = wechat_accounts.id
      AND join_requests.member_id = wechat_accounts.member_id
      AND join_requests.status = 'approved'
"""

PROOF_NEEDS_MEMBER = "binding_proof IS NULL OR member_id IS NOT NULL"
STAFF_PROOF_HAS_TIME = "(binding_confirmed_at IS NOT NULL) = (COALESCE(binding_proof, '') = 'staff')"

SQLITE_COLUMNS = (
    "binding_proof VARCHAR(24)"
    " CONSTRAINT ck_wechat_accounts_binding_proof CHECK (binding_proof IN ('phone', 'staff'))"
    f" CONSTRAINT ck_wechat_accounts_proof_needs_member CHECK ({PROOF_NEEDS_MEMBER})",
    f"binding_confirmed_at DATETIME CONSTRAINT ck_wechat_accounts_staff_proof_has_time CHECK ({STAFF_PROOF_HAS_TIME})",
    "binding_confirmed_by_id INTEGER"
    " CONSTRAINT fk_wechat_accounts_binding_confirmed_by_id_staff REFERENCES staff (id)",
)

BACKFILL = f"""
UPDATE wechat_accounts SET
    binding_proof = 'staff',
    binding_confirmed_at = (SELECT max(join_requests.decided_at) {APPROVED}),
    binding_confirmed_by_id = (
        SELECT join_requests.decided_by_id {APPROVED} ORDER BY join_requests.decided_at DESC LIMIT 1
    )
WHERE member_id IS NOT NULL AND EXISTS (SELECT 1 {APPROVED})
"""


def upgrade():
    op.create_table('binding_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('wechat_account_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=24), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_binding_failures_member_id_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['wechat_account_id'], ['wechat_accounts.id'], name=op.f('fk_binding_failures_wechat_account_id_wechat_accounts'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_binding_failures'))
    )
    with op.batch_alter_table('binding_failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_binding_failures_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_binding_failures_member_created', ['member_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_binding_failures_wechat_account_id'), ['wechat_account_id'], unique=False)

    if op.get_bind().dialect.name == "sqlite":
        # Batch mode would copy wechat_accounts and drop the original; with foreign keys on (the app turns
        # them on, inside the migration's transaction) that DROP deletes every row first, and with them,
        # by ON DELETE CASCADE, every session token, join request and subscribe credit. SQLite adds a
        # column with its CHECK and REFERENCES in place, so the constraints travel with the columns.
        for column in SQLITE_COLUMNS:
            op.execute(f"ALTER TABLE wechat_accounts ADD COLUMN {column}")
        op.execute(BACKFILL)
        return

    op.add_column('wechat_accounts', sa.Column('binding_proof', sa.Enum('phone', 'staff', name='binding_proof', native_enum=False, create_constraint=True, length=24), nullable=True))
    op.add_column('wechat_accounts', sa.Column('binding_confirmed_at', sa.DateTime(), nullable=True))
    op.add_column('wechat_accounts', sa.Column('binding_confirmed_by_id', sa.Integer(), nullable=True))
    op.create_foreign_key(op.f('fk_wechat_accounts_binding_confirmed_by_id_staff'), 'wechat_accounts', 'staff', ['binding_confirmed_by_id'], ['id'])
    op.execute(BACKFILL)
    op.create_check_constraint(op.f('ck_wechat_accounts_proof_needs_member'), 'wechat_accounts', PROOF_NEEDS_MEMBER)
    op.create_check_constraint(op.f('ck_wechat_accounts_staff_proof_has_time'), 'wechat_accounts', STAFF_PROOF_HAS_TIME)


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        # In place again (see upgrade); a column's own CHECK and REFERENCES go with it.
        for name in ('binding_confirmed_by_id', 'binding_confirmed_at', 'binding_proof'):
            op.execute(f"ALTER TABLE wechat_accounts DROP COLUMN {name}")
    else:
        op.drop_constraint(op.f('ck_wechat_accounts_staff_proof_has_time'), 'wechat_accounts', type_='check')
        op.drop_constraint(op.f('ck_wechat_accounts_proof_needs_member'), 'wechat_accounts', type_='check')
        op.drop_constraint(op.f('fk_wechat_accounts_binding_confirmed_by_id_staff'), 'wechat_accounts', type_='foreignkey')
        op.drop_column('wechat_accounts', 'binding_confirmed_by_id')
        op.drop_column('wechat_accounts', 'binding_confirmed_at')
        op.drop_column('wechat_accounts', 'binding_proof')

    with op.batch_alter_table('binding_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_binding_failures_wechat_account_id'))
        batch_op.drop_index('ix_binding_failures_member_created')
        batch_op.drop_index(batch_op.f('ix_binding_failures_created_at'))

    op.drop_table('binding_failures')
