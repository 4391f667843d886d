"""The metadata tables. Alembic migrations in `migrations/` create and change them.

The registry's, deployments', role documents' and UI sessions' tables live in `schema_models`
and are named here too (at the end), so every store module reads any table as `schema.<name>`."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from relayml.store.sql import schema_models as _later
from relayml.store.sql.metadata import TS as TS
from relayml.store.sql.metadata import metadata as metadata
from relayml.store.sql.summary import EMPTY as EMPTY_SUMMARY

projects = Table(
    "projects",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("description", Text, nullable=False, default=""),
    Column("created_at", TS, nullable=False),
    Column("created_by", String(128), nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("created_at", TS, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("user", String(128), ForeignKey("users.name"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", TS, nullable=False),
    Column("revoked_at", TS, nullable=True),
    Column("expires_at", TS, nullable=True),
)

grants = Table(
    "grants",
    metadata,
    Column("user", String(128), ForeignKey("users.name"), primary_key=True),
    Column("project", String(128), primary_key=True),
    Column("role", String(32), primary_key=True),
    Column("granted_at", TS, nullable=False),
    Column("granted_by", String(128), nullable=False),
)

experiments = Table(
    "experiments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project", String(128), ForeignKey("projects.name"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("created_by", String(128), nullable=False),
    UniqueConstraint("project", "name"),
)

runs = Table(
    "runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("experiment_id", Integer, ForeignKey("experiments.id"), nullable=False),
    Column("name", String(250), nullable=False),
    Column("status", String(16), nullable=False),
    Column("user", String(128), nullable=False),
    Column("start_time", TS, nullable=False),
    Column("end_time", TS, nullable=True),
    Column("parent_id", String(32), ForeignKey("runs.id"), nullable=True, index=True),
    # params, tags and latest metrics as JSON (store/sql/summary.py; migration 0004)
    Column("summary", Text, nullable=False, server_default=EMPTY_SUMMARY),
    # when the run's process last said it was alive (migration 0012): a running run silent for
    # longer than the services' `run_lost_after` reads as `lost` (store/sql/search.py)
    Column("last_heartbeat", TS, nullable=True),
    Index("ix_runs_experiment_start", "experiment_id", "start_time"),
)


def _text_filter_indexes(table: str) -> list[Index]:
    """What search filters params and tags through (migration 0004).

    On SQLite a covering (key, value, run_id) index answers a filter without touching the table.
    PostgreSQL cannot index values over a third of a page (params may be 6,000 chars, tags 8,000),
    so there the index is (key, run_id) and the value is checked on the row.
    """
    return [
        Index(f"ix_{table}_key_value", "key", "value", "run_id").ddl_if(dialect="sqlite"),
        Index(f"ix_{table}_key_run", "key", "run_id").ddl_if(dialect="postgresql"),
    ]


params = Table(
    "params",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
    *_text_filter_indexes("params"),
    sqlite_with_rowid=False,  # looked up by (run, key): one B-tree descent (migration 0004)
)

tags = Table(
    "tags",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
    *_text_filter_indexes("tags"),
    sqlite_with_rowid=False,
)

# Every point of every metric. NaN is stored as NULL (SQLite cannot store NaN; PostgreSQL would
# order it above every number), infinities as themselves.
metrics = Table(
    "metrics",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("run_id", String(32), ForeignKey("runs.id"), nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", Float(precision=53), nullable=True),
    Column("step", BigInteger, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Index("ix_metrics_run_key_step", "run_id", "key", "step"),
)

# The latest point per (run, key): what search filters and orders on.
latest_metrics = Table(
    "latest_metrics",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Float(precision=53), nullable=True),
    Column("step", BigInteger, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    # covering: a filter on a metric reads this index alone (migration 0004)
    Index("ix_latest_metrics_key_value", "key", "value", "run_id"),
    sqlite_with_rowid=False,
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id"), primary_key=True),
    Column("path", String(1024), primary_key=True),
    Column("digest", String(64), nullable=False, index=True),
    Column("size", BigInteger, nullable=False),
    Column("created_at", TS, nullable=False),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    ),
    Column("ts", TS, nullable=False),
    Column("actor", String(128), nullable=False, index=True),
    Column("roles", JSON, nullable=False),
    Column("action", String(64), nullable=False),
    Column("entity_kind", String(64), nullable=False),
    Column("entity_id", String(512), nullable=False),
    Column("project", String(128), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("payload_digest", String(64), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    # HMAC-SHA256 of `hash` under the key `key_id`, kept outside the database (migration 0009).
    Column("key_id", String(64), nullable=False, server_default=""),
    Column("mac", String(64), nullable=False, server_default=""),
    # How many identical denied attempts this event stands for, 1 otherwise (migration 0011).
    Column("count", BigInteger, nullable=False, server_default="1"),
    Index("ix_audit_events_entity", "entity_kind", "entity_id"),
)

# One row: the last event's seq and hash. Writers lock it, which orders the chain; verify
# compares the chain's end with it, so a deleted tail is caught too.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("key_id", String(64), nullable=False, server_default=""),
    Column("mac", String(64), nullable=False, server_default=""),
)


# --- datasets (migration 0002) -----------------------------------------------------------------

datasets = Table(
    "datasets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project", String(128), ForeignKey("projects.name"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("created_at", TS, nullable=False),
    Column("created_by", String(128), nullable=False),
    UniqueConstraint("project", "name"),
)

# One immutable version per row; `digest` is the logical content digest (unique per dataset, so
# the same content published twice is one version), `blob` the stored Parquet file's sha256.
dataset_versions = Table(
    "dataset_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dataset_id", Integer, ForeignKey("datasets.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("blob", String(64), nullable=False, index=True),
    Column("size", BigInteger, nullable=False),
    Column("rows", BigInteger, nullable=False),
    Column("schema", JSON, nullable=False),
    Column("profile", JSON, nullable=False),
    Column("sketch_blob", String(64), nullable=True),
    Column("quality", JSON, nullable=True),
    Column("contract", Text, nullable=True),
    Column("contract_digest", String(64), nullable=True),
    Column("status", String(16), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("source", Text, nullable=False, default=""),
    Column("producer_run", String(64), nullable=True, index=True),
    Column("producer_step", String(250), nullable=True),
    Column("created_at", TS, nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("released_at", TS, nullable=True),
    Column("released_by", String(128), nullable=True),
    Column("release_reason", Text, nullable=True),
    Column("quarantined_at", TS, nullable=True),
    Column("quarantined_by", String(128), nullable=True),
    Column("quarantine_reason", Text, nullable=True),
    Column("deprecated_at", TS, nullable=True),
    Column("deprecated_by", String(128), nullable=True),
    Column("deprecation_reason", Text, nullable=True),
    UniqueConstraint("dataset_id", "version"),
    UniqueConstraint("dataset_id", "digest", name="uq_dataset_versions_dataset_id_digest"),
)

dataset_parents = Table(
    "dataset_parents",
    metadata,
    Column("child_id", Integer, ForeignKey("dataset_versions.id"), primary_key=True),
    Column("parent_id", Integer, ForeignKey("dataset_versions.id"), primary_key=True, index=True),
)

dataset_uses = Table(
    "dataset_uses",
    metadata,
    Column("version_id", Integer, ForeignKey("dataset_versions.id"), primary_key=True),
    Column("run_id", String(32), ForeignKey("runs.id"), primary_key=True, index=True),
    Column("used_at", TS, nullable=False),
    Column("used_by", String(128), nullable=False),
)

# The custom checks (module:function) a project's published contracts may run; installed on
# the server and trusted here by an admin (migration 0017).
trusted_checks = Table(
    "trusted_checks",
    metadata,
    Column("project", String(128), ForeignKey("projects.name"), primary_key=True),
    Column("ref", String(250), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("added_by", String(128), nullable=False),
    Column("added_at", TS, nullable=False),
)

# --- pipelines (migration 0003) ----------------------------------------------------------------

# A pipeline as registered: where its code lives, its schedule and its graph's shape.
pipelines = Table(
    "pipelines",
    metadata,
    Column("project", String(128), ForeignKey("projects.name"), primary_key=True),
    Column("name", String(128), primary_key=True),
    Column("module", String(1024), nullable=False),
    Column("schedule", String(128), nullable=True),
    Column("params", JSON, nullable=False),
    Column("steps", JSON, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("updated_at", TS, nullable=False),
)

pipeline_runs = Table(
    "pipeline_runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("project", String(128), ForeignKey("projects.name"), nullable=False),
    Column("pipeline", String(128), nullable=False),
    Column("trigger", String(16), nullable=False),
    Column("executor", String(16), nullable=False),
    Column("params", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("user", String(128), nullable=False),
    Column("started_at", TS, nullable=False),
    Column("ended_at", TS, nullable=True),
    Column("error", Text, nullable=True),
    Column("scheduled_for", TS, nullable=True),
    Column("dataset", String(300), nullable=True),  # the version that triggered it (0019)
    Index("ix_pipeline_runs_project_pipeline", "project", "pipeline", "started_at"),
)

pipeline_steps = Table(
    "pipeline_steps",
    metadata,
    Column("run_id", String(32), ForeignKey("pipeline_runs.id"), primary_key=True),
    Column("name", String(128), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("upstream", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("cache_key", String(64), nullable=True, index=True),
    Column("cached", Boolean, nullable=False),
    Column("output", JSON, nullable=True),
    Column("output_digest", String(64), nullable=True, index=True),
    Column("logs_digest", String(64), nullable=True, index=True),
    Column("error", Text, nullable=True),
    Column("user_traceback", Text, nullable=True),
    Column("started_at", TS, nullable=True),
    Column("ended_at", TS, nullable=True),
)

# --- schedules (migration 0006) ----------------------------------------------------------------

# The claim state of every cron schedule, whatever its kind (pipeline, monitor): when the
# schedule was set, and the newest slot a scheduler claimed. A claim is one conditional UPDATE
# of this row, so two schedulers racing for a slot leave one winner. A paused schedule
# (migration 0016: who, when, why) claims nothing until it is resumed.
schedule_claims = Table(
    "schedule_claims",
    metadata,
    Column("kind", String(32), primary_key=True),
    Column("project", String(128), ForeignKey("projects.name"), primary_key=True),
    Column("name", String(128), primary_key=True),
    Column("since", TS, nullable=True),
    Column("last_slot", TS, nullable=True),
    Column("claimed_at", TS, nullable=True),
    Column("claimed_by", String(128), nullable=True),
    Column("paused_at", TS, nullable=True),
    Column("paused_by", String(128), nullable=True),
    Column("pause_reason", Text, nullable=True),
)

# --- dataset triggers (migration 0019) ---------------------------------------------------------

# A pipeline watching a dataset (`@relay.pipeline(on_publish=...)`): `last_version` is the newest
# version that started a run, or the newest that existed when the trigger was set. A scheduler
# claims a new version with one conditional UPDATE (`... WHERE last_version < :version`) in the
# transaction that records the run, so each version starts the pipeline once.
dataset_triggers = Table(
    "dataset_triggers",
    metadata,
    Column("project", String(128), ForeignKey("projects.name"), primary_key=True),
    Column("pipeline", String(128), primary_key=True),
    Column("dataset", String(128), primary_key=True),
    Column("last_version", Integer, nullable=False),
    Column("since", TS, nullable=False),
    Column("claimed_at", TS, nullable=True),
    Column("claimed_by", String(128), nullable=True),
)

# --- notifications (migration 0007) ------------------------------------------------------------

# A project's webhook. `secret` signs deliveries, so it must be recoverable: it is kept sealed
# with the server key (`relayml.notifications.sealing`: AES-256-GCM, "v2:<key id>:...", 119
# characters; older Relays wrote "v1:..." or the secret in clear, and the service reseals such a
# value as v2), shown once and never returned by any read; `removed_at` retires it while its
# deliveries stay on record.
webhooks = Table(
    "webhooks",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("project", String(128), ForeignKey("projects.name"), nullable=False, index=True),
    Column("url", String(2048), nullable=False),
    Column("secret", String(128), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("removed_at", TS, nullable=True),
)

events = Table(
    "events",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(64), nullable=False),
    Column("project", String(128), ForeignKey("projects.name"), nullable=False),
    Column("subject", String(512), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("text", Text, nullable=False),
    Column("time", TS, nullable=False),
    Index("ix_events_project_time", "project", "time"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("webhook_id", String(32), ForeignKey("webhooks.id"), nullable=False),
    Column("event_id", String(32), ForeignKey("events.id"), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("delivered_at", TS, nullable=True),
    Column("updated_at", TS, nullable=False),
    # (migration 0029) when the next attempt is due (NULL once delivered or failed), and the
    # lease of whoever is making the current one: claimed by a conditional UPDATE, so one
    # sender makes each attempt; a sender that dies leaves a lease that runs out.
    Column("next_attempt_at", TS, nullable=True),
    Column("lease_until", TS, nullable=True),
    Column("lease_owner", String(64), nullable=True),
    Index("ix_webhook_deliveries_webhook", "webhook_id", "updated_at"),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
)


# --- blob uploads (migration 0010) -------------------------------------------------------------

# Bytes uploaded into a project before an entity refers to them (a Parquet file to publish, a
# step's output or logs): with the entities' own references, what a project may name by digest.
blob_uploads = Table(
    "blob_uploads",
    metadata,
    Column("project", String(128), ForeignKey("projects.name"), primary_key=True),
    Column("digest", String(64), primary_key=True, index=True),
    Column("size", BigInteger, nullable=False),
    Column("uploaded_by", String(128), nullable=False),
    Column("uploaded_at", TS, nullable=False),
)

# --- the registry, deployments and role documents: defined in schema_models -------------------

alert_notes = _later.alert_notes
alerts = _later.alerts
alias_moves = _later.alias_moves
deployment_changes = _later.deployment_changes
deployments = _later.deployments
feedback = _later.feedback
idempotency_keys = _later.idempotency_keys
log_segments = _later.log_segments
loop_runs = _later.loop_runs
loops = _later.loops
model_aliases = _later.model_aliases
model_cards = _later.model_cards
model_versions = _later.model_versions
models = _later.models
monitor_checks = _later.monitor_checks
monitor_references = _later.monitor_references
monitor_segments = _later.monitor_segments
monitor_windows = _later.monitor_windows
monitors = _later.monitors
policies = _later.policies
promotion_requests = _later.promotion_requests
request_reviews = _later.request_reviews
requirements = _later.requirements
role_documents = _later.role_documents
ui_sessions = _later.ui_sessions
