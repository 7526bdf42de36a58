"""buddy queues

Revision ID: 0003
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from bot.store.tables import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lookup_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("place", sa.String(length=64), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lookup_log")),
    )
    with op.batch_alter_table("lookup_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lookup_log_at"), ["at"], unique=False)
    op.create_table(
        "awaiting",
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("question", sa.String(length=16), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("asked_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_awaiting_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("contact_id", name=op.f("pk_awaiting")),
    )
    op.create_table(
        "blocked",
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "blocked_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["blocked_by"],
            ["contacts.id"],
            name=op.f("fk_blocked_blocked_by_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_blocked_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("contact_id", name=op.f("pk_blocked")),
    )
    op.create_table(
        "buddies",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("handle", sa.String(length=16), nullable=False),
        sa.Column("capacity", sa.SmallInteger(), nullable=False),
        sa.Column("queues", sa.JSON(), nullable=False),
        sa.Column("on_duty", sa.Boolean(), nullable=False),
        sa.Column("fallback", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_buddies_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_buddies")),
        sa.UniqueConstraint("contact_id", name=op.f("uq_buddies_contact_id")),
        sa.UniqueConstraint("handle", name=op.f("uq_buddies_handle")),
    )
    op.create_table(
        "invites",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("queue", sa.String(length=24), nullable=False),
        sa.Column(
            "created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["contacts.id"],
            name=op.f("fk_invites_created_by_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["used_by"],
            ["contacts.id"],
            name=op.f("fk_invites_used_by_contacts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invites")),
        sa.UniqueConstraint("code", name=op.f("uq_invites_code")),
    )
    op.create_table(
        "conversations",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "texter_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("queue", sa.String(length=24), nullable=False),
        sa.Column("pseudonym", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("buddy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("triage", sa.String(length=16), nullable=True),
        sa.Column("slow", sa.Boolean(), nullable=False),
        sa.Column(
            "requested_buddy_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("queued_at", UTCDateTime(), nullable=False),
        sa.Column("claimed_at", UTCDateTime(), nullable=True),
        sa.Column("first_reply_at", UTCDateTime(), nullable=True),
        sa.Column("last_activity_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("close_reason", sa.String(length=16), nullable=True),
        sa.Column("escalation", sa.SmallInteger(), nullable=False),
        sa.Column("reassured_at", UTCDateTime(), nullable=True),
        sa.Column("silence_checked_at", UTCDateTime(), nullable=True),
        sa.Column("pass_note", sa.Text(), nullable=True),
        sa.Column("handover_note", sa.Text(), nullable=True),
        sa.Column("feedback", sa.SmallInteger(), nullable=True),
        sa.Column("feedback_pending", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["buddy_id"],
            ["buddies.id"],
            name=op.f("fk_conversations_buddy_id_buddies"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["requested_buddy_id"],
            ["buddies.id"],
            name=op.f("fk_conversations_requested_buddy_id_buddies"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["texter_id"],
            ["contacts.id"],
            name=op.f("fk_conversations_texter_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
    )
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conversations_buddy_id_status"), ["buddy_id", "status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_conversations_status_queue"), ["status", "queue"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_conversations_texter_id_status"), ["texter_id", "status"], unique=False
        )

    op.create_table(
        "rota",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("queue", sa.String(length=24), nullable=False),
        sa.Column("night", sa.Date(), nullable=False),
        sa.Column("buddy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("notified_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["buddy_id"], ["buddies.id"], name=op.f("fk_rota_buddy_id_buddies"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rota")),
        sa.UniqueConstraint(
            "queue", "night", "buddy_id", name=op.f("uq_rota_queue_night_buddy_id")
        ),
    )
    op.create_table(
        "conversation_messages",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "conversation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("sender", sa.String(length=8), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_messages_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_messages")),
    )
    with op.batch_alter_table("conversation_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_conversation_messages_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_conversation_messages_conversation_id_id"),
            ["conversation_id", "id"],
            unique=False,
        )

    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("queue", sa.String(length=24), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("lookup_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lookup_log_at"))
    op.drop_table("lookup_log")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_column("queue")

    with op.batch_alter_table("conversation_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversation_messages_conversation_id_id"))
        batch_op.drop_index(batch_op.f("ix_conversation_messages_at"))

    op.drop_table("conversation_messages")
    op.drop_table("rota")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversations_texter_id_status"))
        batch_op.drop_index(batch_op.f("ix_conversations_status_queue"))
        batch_op.drop_index(batch_op.f("ix_conversations_buddy_id_status"))

    op.drop_table("conversations")
    op.drop_table("invites")
    op.drop_table("buddies")
    op.drop_table("blocked")
    op.drop_table("awaiting")
