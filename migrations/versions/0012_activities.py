"""activities: activities (with their audience groups) and activity_registrations

Capacity counts persons; activities.seats_taken is the total of the seated parties, kept under the
activity row's lock, with a CHECK that it never exceeds the capacity. One live registration per member
per activity (uq_activity_registrations_live, partial); a deleted member's past rows keep member_id NULL.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 10:17:11.891042

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "activities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column(
            "category",
            sa.Enum(
                "sports_culture",
                "benefit",
                "training",
                "volunteer",
                "other",
                name="activity_category",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("description_html", sa.Text(), nullable=False),
        sa.Column("cover_upload_id", sa.Integer(), nullable=True),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=False),
        sa.Column("registration_opens_at", sa.DateTime(), nullable=False),
        sa.Column("registration_closes_at", sa.DateTime(), nullable=False),
        sa.Column("cancel_deadline", sa.DateTime(), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("max_companions", sa.Integer(), nullable=False),
        sa.Column(
            "allocation",
            sa.Enum(
                "first_come",
                "lottery",
                name="activity_allocation",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("waitlist_enabled", sa.Boolean(), nullable=False),
        sa.Column("checkin_required", sa.Boolean(), nullable=False),
        sa.Column("whole_union", sa.Boolean(), nullable=False),
        sa.Column("form_fields", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "published",
                "cancelled",
                name="activity_status",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("seats_taken", sa.Integer(), nullable=False),
        sa.Column("draw_seed", sa.String(length=64), nullable=True),
        sa.Column("drawn_at", sa.DateTime(), nullable=True),
        sa.Column("draw_applicants", sa.Integer(), nullable=True),
        sa.Column("draw_winners", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "capacity IS NULL OR seats_taken <= capacity", name=op.f("ck_activities_seats_within_capacity")
        ),
        sa.CheckConstraint("ends_at >= starts_at", name=op.f("ck_activities_ends_after_start")),
        sa.CheckConstraint("max_companions >= 0", name=op.f("ck_activities_companions_not_negative")),
        sa.CheckConstraint(
            "registration_closes_at > registration_opens_at",
            name=op.f("ck_activities_registration_window_ordered"),
        ),
        sa.CheckConstraint("seats_taken >= 0", name=op.f("ck_activities_seats_taken_not_negative")),
        sa.ForeignKeyConstraint(["author_id"], ["staff.id"], name=op.f("fk_activities_author_id_staff")),
        sa.ForeignKeyConstraint(
            ["cover_upload_id"],
            ["uploads.id"],
            name=op.f("fk_activities_cover_upload_id_uploads"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activities")),
    )
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_activities_author_id"), ["author_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_activities_category"), ["category"], unique=False)
        batch_op.create_index("ix_activities_status_starts_at", ["status", "starts_at"], unique=False)

    op.create_table(
        "activity_groups",
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activities.id"],
            name=op.f("fk_activity_groups_activity_id_activities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"], name=op.f("fk_activity_groups_group_id_groups")),
        sa.PrimaryKeyConstraint("activity_id", "group_id", name=op.f("pk_activity_groups")),
    )
    with op.batch_alter_table("activity_groups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_activity_groups_group_id"), ["group_id"], unique=False)

    op.create_table(
        "activity_registrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "registered",
                "waitlisted",
                "applied",
                "not_selected",
                "cancelled",
                "attended",
                "no_show",
                name="registration_status",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("waitlist_position", sa.Integer(), nullable=True),
        sa.Column("companions", sa.Integer(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("added_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("checked_in_at", sa.DateTime(), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(), nullable=True),
        sa.Column("reminded_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "(status = 'waitlisted') = (waitlist_position IS NOT NULL)",
            name=op.f("ck_activity_registrations_position_only_waitlisted"),
        ),
        sa.CheckConstraint("companions >= 0", name=op.f("ck_activity_registrations_companions_not_negative")),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activities.id"],
            name=op.f("fk_activity_registrations_activity_id_activities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["added_by_id"], ["staff.id"], name=op.f("fk_activity_registrations_added_by_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_activity_registrations_group_id_groups")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_activity_registrations_member_id_members"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_registrations")),
    )
    with op.batch_alter_table("activity_registrations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_activity_registrations_activity_id_status", ["activity_id", "status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_activity_registrations_member_id"), ["member_id"], unique=False)
        batch_op.create_index(
            "ix_activity_registrations_waitlist",
            ["activity_id", "waitlist_position"],
            unique=False,
            postgresql_where=sa.text("waitlist_position IS NOT NULL"),
            sqlite_where=sa.text("waitlist_position IS NOT NULL"),
        )
        batch_op.create_index(
            "uq_activity_registrations_live",
            ["activity_id", "member_id"],
            unique=True,
            postgresql_where=sa.text(
                "status IN ('registered', 'waitlisted', 'applied', 'attended', 'no_show')"
            ),
            sqlite_where=sa.text("status IN ('registered', 'waitlisted', 'applied', 'attended', 'no_show')"),
        )


def downgrade():
    with op.batch_alter_table("activity_registrations", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_activity_registrations_live",
            postgresql_where=sa.text(
                "status IN ('registered', 'waitlisted', 'applied', 'attended', 'no_show')"
            ),
            sqlite_where=sa.text("status IN ('registered', 'waitlisted', 'applied', 'attended', 'no_show')"),
        )
        batch_op.drop_index("ix_activity_registrations_waitlist")
        batch_op.drop_index(batch_op.f("ix_activity_registrations_member_id"))
        batch_op.drop_index("ix_activity_registrations_activity_id_status")

    op.drop_table("activity_registrations")
    with op.batch_alter_table("activity_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_activity_groups_group_id"))

    op.drop_table("activity_groups")
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.drop_index("ix_activities_status_starts_at")
        batch_op.drop_index(batch_op.f("ix_activities_category"))
        batch_op.drop_index(batch_op.f("ix_activities_author_id"))

    op.drop_table("activities")
