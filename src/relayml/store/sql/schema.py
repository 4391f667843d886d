"""The metadata tables. Alembic migrations in `migrations/` create and change them."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from relayml.store.sql.summary import EMPTY as EMPTY_SUMMARY

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

TS = DateTime(timezone=True)

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

# A project's webhook. `secret` signs deliveries, so it is kept as it was issued (it is shown
# once, never returned by any read); `removed_at` retires it while its deliveries stay on record.
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
    Index("ix_webhook_deliveries_webhook", "webhook_id", "updated_at"),
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


# --- the model registry (migration 0013) ---------------------------------------------------

models = Table(
    "models",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project", String(128), ForeignKey("projects.name"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("created_at", TS, nullable=False),
    Column("created_by", String(128), nullable=False),
    UniqueConstraint("project", "name"),
)

# One immutable artifact per row (status and tags aside); `digest` is the artifact's sha256.
model_versions = Table(
    "model_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model_id", Integer, ForeignKey("models.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("digest", String(64), nullable=False, index=True),
    Column("size", BigInteger, nullable=False),
    Column("flavor", String(16), nullable=False),
    Column("signature", JSON, nullable=True),
    Column("environment", JSON, nullable=False),
    Column("run_id", String(32), nullable=True, index=True),
    Column("unsafe_pickle", Boolean, nullable=False),
    Column("status", String(16), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("tags", JSON, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("created_by", String(128), nullable=False),
    UniqueConstraint("model_id", "version"),
)

# At most one holder per alias, by the primary key: two approvals racing for one alias cannot
# leave two versions behind it.
model_aliases = Table(
    "model_aliases",
    metadata,
    Column("model_id", Integer, ForeignKey("models.id"), primary_key=True),
    Column("alias", String(64), primary_key=True),
    Column("version_id", Integer, ForeignKey("model_versions.id"), nullable=False, index=True),
    Column("set_at", TS, nullable=False),
    Column("set_by", String(128), nullable=False),
)

alias_moves = Table(
    "alias_moves",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model_id", Integer, ForeignKey("models.id"), nullable=False, index=True),
    Column("alias", String(64), nullable=False),
    Column("from_version", Integer, nullable=True),
    Column("to_version", Integer, nullable=True),
    Column("moved_by", String(128), nullable=False),
    Column("moved_at", TS, nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("request_id", String(32), nullable=True),
)

model_cards = Table(
    "model_cards",
    metadata,
    Column("model_id", Integer, ForeignKey("models.id"), primary_key=True),
    Column("revision", Integer, primary_key=True),
    Column("fields", JSON, nullable=False),
    Column("updated_by", String(128), nullable=False),
    Column("updated_at", TS, nullable=False),
)

policies = Table(
    "policies",
    metadata,
    Column("project", String(128), ForeignKey("projects.name"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("text", Text, nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("created_at", TS, nullable=False),
)

requirements = Table(
    "requirements",
    metadata,
    Column("model_id", Integer, ForeignKey("models.id"), primary_key=True),
    Column("metric", String(128), primary_key=True),
    Column("min_value", Float, nullable=True),
    Column("max_value", Float, nullable=True),
    Column("set_by", String(128), nullable=False),
    Column("set_at", TS, nullable=False),
)

promotion_requests = Table(
    "promotion_requests",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("project", String(128), ForeignKey("projects.name"), nullable=False),
    Column("model_id", Integer, ForeignKey("models.id"), nullable=False),
    Column("version_id", Integer, ForeignKey("model_versions.id"), nullable=False),
    Column("alias", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("requester", String(128), nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("created_at", TS, nullable=False),
    Column("holder_version", Integer, nullable=True),
    Column("policy_version", Integer, nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("decided_by", String(128), nullable=True),
    Column("decided_at", TS, nullable=True),
    Column("override_reason", Text, nullable=True),
    Index("ix_promotion_requests_project_state", "project", "state"),
)

request_reviews = Table(
    "request_reviews",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "request_id", String(32), ForeignKey("promotion_requests.id"), nullable=False, index=True
    ),
    Column("user", String(128), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("text", Text, nullable=False, default=""),
    Column("roles", JSON, nullable=False),
    Column("at", TS, nullable=False),
)


# --- request ids (migration 0014) -----------------------------------------------------------
# A non-idempotent request sent with an Idempotency-Key is recorded here with its answer, so a
# client that lost the answer (a dropped connection) can send it again and get the same answer
# instead of doing the work twice. `status` is NULL while the first attempt is still running.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("user", String(128), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("method", String(8), nullable=False),
    Column("path", Text, nullable=False),
    Column("status", Integer, nullable=True),
    Column("body", LargeBinary, nullable=True),
    Column("content_type", String(128), nullable=True),
    Column("created_at", TS, nullable=False, index=True),
)


# --- deployments (migration 0018) -----------------------------------------------------------
# A deployment serves one model: its target follows an alias or pins a version, its traffic
# rules name a canary and a shadow of the same model. `revision` counts changes; each change
# updates the row only at the revision it read (a racing change is a Conflict) and keeps a
# row in deployment_changes.
deployments = Table(
    "deployments",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("project", String(128), ForeignKey("projects.name"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("model_id", Integer, ForeignKey("models.id"), nullable=False, index=True),
    Column("target", String(256), nullable=False),
    Column("canary", String(256), nullable=True),
    Column("canary_percent", Float, nullable=False),
    Column("sticky_key", String(128), nullable=True),
    Column("shadow", String(256), nullable=True),
    Column("unsafe_pickle", Boolean, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("updated_by", String(128), nullable=False),
    Column("updated_at", TS, nullable=False),
    UniqueConstraint("project", "name"),
)

deployment_changes = Table(
    "deployment_changes",
    metadata,
    Column("deployment_id", String(32), ForeignKey("deployments.id"), primary_key=True),
    Column("revision", Integer, primary_key=True),
    Column("action", String(32), nullable=False),
    Column("who", String(128), nullable=False),
    Column("at", TS, nullable=False),
    Column("reason", Text, nullable=False),
    Column("state_before", JSON, nullable=True),
    Column("state_after", JSON, nullable=False),
)

# One row per Parquet file of a deployment's prediction log; `digest` names its blob.
log_segments = Table(
    "log_segments",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("deployment_id", String(32), ForeignKey("deployments.id"), nullable=False),
    Column("uri", String(1024), nullable=False),
    Column("digest", String(64), nullable=False, index=True),
    Column("records", BigInteger, nullable=False),
    Column("first_at", TS, nullable=False),
    Column("last_at", TS, nullable=False),
    Column("server_id", String(128), nullable=False),
    Column("registered_by", String(128), nullable=False),
    Column("registered_at", TS, nullable=False),
    UniqueConstraint("deployment_id", "uri"),
    Index("ix_log_segments_deployment_last_at", "deployment_id", "last_at"),
)

# Feedback on one prediction: one row per (deployment, prediction id), so a join is exact.
# `label` is a JSON scalar (NULL: none given).
feedback = Table(
    "feedback",
    metadata,
    Column("deployment_id", String(32), ForeignKey("deployments.id"), primary_key=True),
    Column("prediction_id", String(128), primary_key=True),
    Column("label", JSON(none_as_null=True), nullable=True),
    Column("outcome", Float, nullable=True),
    Column("comment", Text, nullable=True),
    Column("who", String(128), nullable=False),
    Column("at", TS, nullable=False),
    Index("ix_feedback_deployment_at", "deployment_id", "at"),
)


# --- role documents (migration 0020) --------------------------------------------------------
# Every version of the installation's roles document (scope '*') and of each project's, kept as
# written and never edited; the newest version of a scope is the one in force.
role_documents = Table(
    "role_documents",
    metadata,
    Column("scope", String(128), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("text", Text, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("created_at", TS, nullable=False),
)
