"""recordings: policy per organisation, recordings, their files, media jobs

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 13:30:00
"""

import sqlalchemy as sa
from alembic import op

import signaling.db.schema

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "recording_policy", sa.String(length=16), server_default="always", nullable=False
            )
        )
    op.create_table(
        "recordings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("interrupted", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("started_at", signaling.db.schema.UTCDateTime(), nullable=False),
        sa.Column("ended_at", signaling.db.schema.UTCDateTime(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("paused_ms", sa.Integer(), nullable=False),
        sa.Column("directory", sa.String(length=200), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("dropped_bytes", sa.BigInteger(), nullable=False),
        sa.Column("encrypted", sa.Boolean(), nullable=False),
        sa.Column("deleted_at", signaling.db.schema.UTCDateTime(), nullable=True),
        sa.Column("created_at", signaling.db.schema.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_recordings_call_id_calls")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_recordings_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recordings")),
        sa.UniqueConstraint("call_id", name=op.f("uq_recordings_call_id")),
    )
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recordings_org_id"), ["org_id"], unique=False)
    op.create_table(
        "recording_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recording_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("participant", sa.String(length=16), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=True),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("mime", sa.String(length=80), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("start_offset_ms", sa.Integer(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("created_at", signaling.db.schema.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["recording_id"],
            ["recordings.id"],
            name=op.f("fk_recording_files_recording_id_recordings"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_files")),
    )
    with op.batch_alter_table("recording_files", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recording_files_recording_id"), ["recording_id"], unique=False
        )
    op.create_table(
        "media_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recording_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("not_before", signaling.db.schema.UTCDateTime(), nullable=True),
        sa.Column("started_at", signaling.db.schema.UTCDateTime(), nullable=True),
        sa.Column("finished_at", signaling.db.schema.UTCDateTime(), nullable=True),
        sa.Column("created_at", signaling.db.schema.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["recording_id"], ["recordings.id"], name=op.f("fk_media_jobs_recording_id_recordings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_jobs")),
    )
    with op.batch_alter_table("media_jobs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_media_jobs_recording_id"), ["recording_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("media_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_media_jobs_recording_id"))
    op.drop_table("media_jobs")
    with op.batch_alter_table("recording_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recording_files_recording_id"))
    op.drop_table("recording_files")
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recordings_org_id"))
    op.drop_table("recordings")
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_column("recording_policy")
