"""buddies.ready_since: a buddy who texted NEXT when nobody was waiting gets the next
texter straight away

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from bot.store.tables import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("buddies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ready_since", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("buddies", schema=None) as batch_op:
        batch_op.drop_column("ready_since")
