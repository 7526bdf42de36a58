"""prompts planned ahead: schedule_prefs.planned_until; prompts out of the (kind, ref_id)
index

Revision ID: 0005
Revises: 0004
"""

from datetime import date, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

HAS_REF = sa.text("ref_id IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("schedule_prefs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("planned_until", sa.Date(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_schedule_prefs_planned_until"), ["planned_until"], unique=False
        )
    # Subscribers so far have their next prompt planned: the planning sweep tops them up.
    prefs = sa.table(
        "schedule_prefs", sa.column("prompt_time", sa.String), sa.column("planned_until", sa.Date)
    )
    op.execute(
        prefs.update()
        .where(prefs.c.prompt_time.is_not(None))
        .values(planned_until=date.today() - timedelta(days=1))
    )
    with op.batch_alter_table("scheduled", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scheduled_kind_ref_id"))
        batch_op.create_index(
            batch_op.f("ix_scheduled_kind_ref_id"),
            ["kind", "ref_id"],
            unique=False,
            sqlite_where=HAS_REF,
            postgresql_where=HAS_REF,
        )


def downgrade() -> None:
    with op.batch_alter_table("scheduled", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scheduled_kind_ref_id"))
        batch_op.create_index(
            batch_op.f("ix_scheduled_kind_ref_id"), ["kind", "ref_id"], unique=False
        )
    with op.batch_alter_table("schedule_prefs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_schedule_prefs_planned_until"))
        batch_op.drop_column("planned_until")
