"""audit scope: each audit row remembers where in the union it was written (audit_log.scope_path)

Who may read a row of the 审计日志 used to follow the CURRENT scope of its staff author and the CURRENT
group of its worker, so a person moved to another branch took their whole history along. From now on
`record()` stores the group path of the actor's place at the moment the row is written.

Rows written before this migration get the best value the database still holds:
- a worker's row: the group they were in at the time, read from their 转会 history (group_changes: the
  group they left by their first move after the row), else their current group;
- a staff member's row: their current scope, unless the log shows their scope was changed after the row
  (a staff.update whose fields name scope_group_id): where they stood then is not recorded anywhere, so
  such a row gets no path and only whoever holds the whole union reads it, rather than the wrong branch;
- any other row (the shell, failed logins under unknown names): no path, as record() writes them.

On PostgreSQL the table's append-only trigger (0001) refuses every UPDATE, so the backfill turns it off
inside this migration's transaction and on again before the end; the ALTER TABLE holds the table's lock
until commit, so nothing else can change a row meanwhile, and a failure rolls the switch back with the rest.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


BACKFILL = """
UPDATE audit_log SET scope_path = CASE
    WHEN actor_staff_id IS NOT NULL THEN CASE
        WHEN EXISTS (
            SELECT 1 FROM audit_log AS moved
            WHERE moved.action = 'staff.update' AND moved.object_type = 'staff'
              AND moved.object_id = audit_log.actor_staff_id AND moved.at > audit_log.at
              AND CAST(moved.detail AS TEXT) LIKE '%scope_group_id%'
        ) THEN NULL
        ELSE (
            SELECT groups.path FROM staff JOIN groups ON groups.id = staff.scope_group_id
            WHERE staff.id = audit_log.actor_staff_id
        )
    END
    ELSE COALESCE(
        (
            SELECT groups.path FROM group_changes JOIN groups ON groups.id = group_changes.from_group_id
            WHERE group_changes.member_id = audit_log.actor_member_id
              AND group_changes.changed_at > audit_log.at
            ORDER BY group_changes.changed_at, group_changes.id
            LIMIT 1
        ),
        (
            SELECT groups.path FROM members JOIN groups ON groups.id = members.group_id
            WHERE members.id = audit_log.actor_member_id
        )
    )
END
WHERE actor_staff_id IS NOT NULL OR actor_member_id IS NOT NULL
"""


def upgrade():
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scope_path', sa.String(length=255), nullable=True))
        # varchar_pattern_ops: the prefix LIKE of every scoped read can use the index under any collation.
        batch_op.create_index(batch_op.f('ix_audit_log_scope_path'), ['scope_path'], unique=False,
                              postgresql_ops={'scope_path': 'varchar_pattern_ops'})

    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    op.execute(BACKFILL)
    if postgresql:
        op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")


def downgrade():
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_scope_path'))
        batch_op.drop_column('scope_path')
