"""Indexes for the KPIs of a period: chats and calls by organisation and creation time

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 19:00:00.000000
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_chat_sessions_org_id_created_at", "chat_sessions", ["org_id", "created_at"])
    op.create_index("ix_calls_org_id_created_at", "calls", ["org_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_calls_org_id_created_at", table_name="calls")
    op.drop_index("ix_chat_sessions_org_id_created_at", table_name="chat_sessions")
