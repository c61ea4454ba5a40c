"""Knowledge base: articles and macros, the organisation's bot switch and search revision,
and the bot's suggestions on its messages

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import signaling.db.schema

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("bot_enabled", sa.Boolean(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("kb_revision", sa.Integer(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("meta", sa.JSON(), nullable=True))

    op.create_table(
        "kb_articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("created_at", signaling.db.schema.UTCDateTime(), nullable=False),
        sa.Column("updated_at", signaling.db.schema.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_kb_articles_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_kb_articles_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["users.id"], name=op.f("fk_kb_articles_updated_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_articles")),
    )
    with op.batch_alter_table("kb_articles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kb_articles_org_id"), ["org_id"], unique=False)

    op.create_table(
        "kb_macros",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", signaling.db.schema.UTCDateTime(), nullable=False),
        sa.Column("updated_at", signaling.db.schema.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_kb_macros_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_kb_macros_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_macros")),
    )
    with op.batch_alter_table("kb_macros", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kb_macros_org_id"), ["org_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("kb_macros", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kb_macros_org_id"))
    op.drop_table("kb_macros")
    with op.batch_alter_table("kb_articles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kb_articles_org_id"))
    op.drop_table("kb_articles")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("meta")
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_column("kb_revision")
        batch_op.drop_column("bot_enabled")
