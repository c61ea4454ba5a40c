"""tickets.version (stale saves are refused) and agent_presence (status survives a restart)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 14:00:00
"""

import sqlalchemy as sa
from alembic import op

import signaling.db.schema

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    op.create_table(
        "agent_presence",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("changed_at", signaling.db.schema.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_agent_presence_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_agent_presence")),
    )


def downgrade() -> None:
    op.drop_table("agent_presence")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("version")
