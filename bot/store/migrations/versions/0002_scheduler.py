"""scheduler: reminders, prompts and journal, buddy offers, broadcasts

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from bot.store.tables import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "appointments",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("what", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column(
            "created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("dropped_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_appointments_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["contacts.id"],
            name=op.f("fk_appointments_created_by_contacts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
    )
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_appointments_contact_id_starts_at"),
            ["contact_id", "starts_at"],
            unique=False,
        )

    op.create_table(
        "broadcasts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("sender_ref", sa.String(length=16), nullable=False),
        sa.Column("audience", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("send_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("confirmed_at", UTCDateTime(), nullable=True),
        sa.Column("cancelled_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["contacts.id"],
            name=op.f("fk_broadcasts_created_by_contacts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcasts")),
    )
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_broadcasts_status_send_at"), ["status", "send_at"], unique=False
        )

    op.create_table(
        "buddy_offers",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("reason", sa.String(length=48), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("offered_at", UTCDateTime(), nullable=False),
        sa.Column("taken_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_buddy_offers_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_buddy_offers")),
    )
    with op.batch_alter_table("buddy_offers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_buddy_offers_contact_id_offered_at"),
            ["contact_id", "offered_at"],
            unique=False,
        )

    op.create_table(
        "journal",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("prompt_key", sa.String(length=128), nullable=True),
        sa.Column("prompt_id", sa.String(length=32), nullable=True),
        sa.Column("measure", sa.String(length=24), nullable=True),
        sa.Column("score", sa.SmallInteger(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_journal_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal")),
        sa.UniqueConstraint("prompt_key", name=op.f("uq_journal_prompt_key")),
    )
    with op.batch_alter_table("journal", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_journal_contact_id_created_at"),
            ["contact_id", "created_at"],
            unique=False,
        )

    op.create_table(
        "schedule_prefs",
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("prompt_time", sa.String(length=5), nullable=True),
        sa.Column("quiet_start", sa.String(length=5), nullable=True),
        sa.Column("quiet_end", sa.String(length=5), nullable=True),
        sa.Column("reminder_minutes", sa.JSON(), nullable=True),
        sa.Column("notices", sa.Boolean(), nullable=False),
        sa.Column("weekly", sa.Boolean(), nullable=False),
        sa.Column("staff_appts", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_schedule_prefs_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("contact_id", name=op.f("pk_schedule_prefs")),
    )
    op.create_table(
        "scheduled",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("grace_until", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("ref_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("done_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_scheduled_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled")),
        sa.UniqueConstraint("key", name=op.f("uq_scheduled_key")),
    )
    with op.batch_alter_table("scheduled", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_scheduled_contact_id_kind_status"),
            ["contact_id", "kind", "status"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_scheduled_kind_ref_id"), ["kind", "ref_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_scheduled_status_due_at"), ["status", "due_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("scheduled", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scheduled_status_due_at"))
        batch_op.drop_index(batch_op.f("ix_scheduled_kind_ref_id"))
        batch_op.drop_index(batch_op.f("ix_scheduled_contact_id_kind_status"))

    op.drop_table("scheduled")
    op.drop_table("schedule_prefs")
    with op.batch_alter_table("journal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_journal_contact_id_created_at"))

    op.drop_table("journal")
    with op.batch_alter_table("buddy_offers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_buddy_offers_contact_id_offered_at"))

    op.drop_table("buddy_offers")
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_broadcasts_status_send_at"))

    op.drop_table("broadcasts")
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appointments_contact_id_starts_at"))

    op.drop_table("appointments")
