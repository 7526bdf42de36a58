"""check-ups (BARC-10) and contacts' areas

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from bot.store.tables import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "checkups",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("contact_id", ID, nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("asking", sa.SmallInteger(), nullable=True),
        sa.Column("asked_at", UTCDateTime(), nullable=True),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.Column("score", sa.SmallInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_checkups_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkups")),
    )
    with op.batch_alter_table("checkups", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_checkups_contact_id_completed_at"),
            ["contact_id", "completed_at"],
            unique=False,
        )
    op.create_table(
        "checkup_answers",
        sa.Column("checkup_id", ID, nullable=False),
        sa.Column("item", sa.SmallInteger(), nullable=False),
        sa.Column("answer", sa.SmallInteger(), nullable=False),
        sa.Column("answered_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["checkup_id"],
            ["checkups.id"],
            name=op.f("fk_checkup_answers_checkup_id_checkups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("checkup_id", "item", name=op.f("pk_checkup_answers")),
    )
    with op.batch_alter_table("schedule_prefs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("checkup_time", sa.String(length=5), nullable=True))
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("area", sa.String(length=48), nullable=True))
        batch_op.create_index(batch_op.f("ix_contacts_area"), ["area"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_area"))
        batch_op.drop_column("area")
    with op.batch_alter_table("schedule_prefs", schema=None) as batch_op:
        batch_op.drop_column("checkup_time")
    op.drop_table("checkup_answers")
    with op.batch_alter_table("checkups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkups_contact_id_completed_at"))
    op.drop_table("checkups")
