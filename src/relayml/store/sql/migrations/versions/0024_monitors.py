"""monitors: monitors on deployments, their windows, the log segments they read, model-shift
checks, and alerts with their notes

A monitor reads its deployment's prediction-log segments (each once: monitor_segments) into
windows that keep a summary and an assessment as JSON text, never rows. Alerts are one live
row per (monitor, kind, subject) through the unique `live_key`, NULL once resolved.

Revision ID: 0024
Revises: 0023
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "monitors",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("project", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("deployment_id", sa.String(length=32), nullable=False),
        sa.Column("window_kind", sa.String(length=8), nullable=False),
        sa.Column("window_seconds", sa.Float(), nullable=True),
        sa.Column("window_rows", sa.BigInteger(), nullable=True),
        sa.Column("reference", sa.String(length=256), nullable=False),
        sa.Column("reference_digest", sa.String(length=64), nullable=True),
        sa.Column("target", sa.String(length=256), nullable=True),
        sa.Column("model_version", sa.Integer(), nullable=True),
        sa.Column("min_rows", sa.BigInteger(), nullable=False),
        sa.Column("alert_k", sa.Integer(), nullable=False),
        sa.Column("alert_n", sa.Integer(), nullable=False),
        sa.Column("label_horizon", sa.Float(), nullable=False),
        sa.Column("grace", sa.Float(), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("since", TS, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("processed_at", TS, nullable=True),
        sa.Column("feedback_cursor", TS, nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["project"], ["projects.name"], name=op.f("fk_monitors_project_projects")
        ),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name=op.f("fk_monitors_deployment_id_deployments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitors")),
        sa.UniqueConstraint("project", "name", name=op.f("uq_monitors_project")),
    )
    op.create_index(op.f("ix_monitors_deployment_id"), "monitors", ["deployment_id"])
    op.create_table(
        "monitor_windows",
        sa.Column("monitor_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("start_at", TS, nullable=False),
        sa.Column("end_at", TS, nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("labelled", sa.BigInteger(), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("performance", sa.Text(), nullable=True),
        sa.Column("assessment", sa.Text(), nullable=True),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("parts", sa.JSON(), nullable=False),
        sa.Column("closed_at", TS, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["monitor_id"], ["monitors.id"], name=op.f("fk_monitor_windows_monitor_id_monitors")
        ),
        sa.PrimaryKeyConstraint("monitor_id", "seq", name=op.f("pk_monitor_windows")),
    )
    op.create_index(
        "ix_monitor_windows_monitor_start", "monitor_windows", ["monitor_id", "start_at"]
    )
    op.create_table(
        "monitor_segments",
        sa.Column("monitor_id", sa.String(length=32), nullable=False),
        sa.Column("segment_id", sa.String(length=32), nullable=False),
        sa.Column("consumed_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["monitor_id"], ["monitors.id"], name=op.f("fk_monitor_segments_monitor_id_monitors")
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["log_segments.id"],
            name=op.f("fk_monitor_segments_segment_id_log_segments"),
        ),
        sa.PrimaryKeyConstraint("monitor_id", "segment_id", name=op.f("pk_monitor_segments")),
    )
    op.create_table(
        "monitor_checks",
        sa.Column("monitor_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("by", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["monitor_id"], ["monitors.id"], name=op.f("fk_monitor_checks_monitor_id_monitors")
        ),
        sa.PrimaryKeyConstraint("monitor_id", "seq", name=op.f("pk_monitor_checks")),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("project", sa.String(length=128), nullable=False),
        sa.Column("monitor_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=256), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("since", TS, nullable=False),
        sa.Column("first_window", sa.Integer(), nullable=True),
        sa.Column("last_window", sa.Integer(), nullable=True),
        sa.Column("windows", sa.Integer(), nullable=False),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("acknowledged_by", sa.String(length=128), nullable=True),
        sa.Column("acknowledged_at", TS, nullable=True),
        sa.Column("resolved_by", sa.String(length=128), nullable=True),
        sa.Column("resolved_at", TS, nullable=True),
        sa.Column("live_key", sa.String(length=512), nullable=True),
        sa.ForeignKeyConstraint(
            ["project"], ["projects.name"], name=op.f("fk_alerts_project_projects")
        ),
        sa.ForeignKeyConstraint(
            ["monitor_id"], ["monitors.id"], name=op.f("fk_alerts_monitor_id_monitors")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("live_key", name=op.f("uq_alerts_live_key")),
    )
    op.create_index(op.f("ix_alerts_monitor_id"), "alerts", ["monitor_id"])
    op.create_index("ix_alerts_project_state", "alerts", ["project", "state"])
    op.create_table(
        "alert_notes",
        sa.Column("alert_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("who", sa.String(length=128), nullable=False),
        sa.Column("what", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_alert_notes_alert_id_alerts")
        ),
        sa.PrimaryKeyConstraint("alert_id", "seq", name=op.f("pk_alert_notes")),
    )


def downgrade() -> None:
    op.drop_table("alert_notes")
    op.drop_index("ix_alerts_project_state", table_name="alerts")
    op.drop_index(op.f("ix_alerts_monitor_id"), table_name="alerts")
    op.drop_table("alerts")
    op.drop_table("monitor_checks")
    op.drop_table("monitor_segments")
    op.drop_index("ix_monitor_windows_monitor_start", table_name="monitor_windows")
    op.drop_table("monitor_windows")
    op.drop_index(op.f("ix_monitors_deployment_id"), table_name="monitors")
    op.drop_table("monitors")
