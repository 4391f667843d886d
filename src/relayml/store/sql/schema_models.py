"""The tables of the later lifecycle areas: the model registry, request ids, deployments and role
documents. `schema` re-exports them, so the store reads every table as `schema.<name>`."""

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
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from relayml.store.sql.metadata import TS, metadata

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

# One immutable artifact per row (status and tags aside); `digest` is the artifact's sha256,
# `golden` its golden set's.
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
    # the golden set: a Parquet blob of input rows with the outputs given at registration
    Column("golden", String(64), nullable=True, index=True),
    Column("golden_rows", Integer, nullable=True),
    Column("golden_size", BigInteger, nullable=True),
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
    # "loop:RUN_ID" when a loop opened it: approval does not move the alias (migration 0023)
    Column("hold", String(64), nullable=True),
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


# --- web UI sessions (migration 0022) ---------------------------------------------------------
# One row per sign-in: the sha256 of the random session id (the cookie holds the id, never
# stored), the token it was opened with (a revoked or expired token ends the session), when it
# ends on its own, and when its user signed out; since 0030 when it was last seen active
# (written at most once a minute) and why it ended early ('signed out', 'idle').
ui_sessions = Table(
    "ui_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("token_id", String(16), ForeignKey("tokens.id"), nullable=False, index=True),
    Column("user", String(128), ForeignKey("users.name"), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("expires_at", TS, nullable=False),
    Column("ended_at", TS, nullable=True),
    Column("last_seen_at", TS, nullable=True),
    Column("end_reason", String(16), nullable=True),
)


# --- loops (migration 0023) -------------------------------------------------------------------
# A loop a project attached (its settings as JSON, the model and protected alias it competes
# for) and its runs: one row per run, its record of steps as JSON, updated only at the revision
# it was read at. An alert starts at most one run of a loop (unique (loop, alert)); a pipeline
# run belongs to at most one loop run (its claim sets `pipeline_run` in the same transaction).
loops = Table(
    "loops",
    metadata,
    Column("project", String(128), ForeignKey("projects.name"), primary_key=True),
    Column("name", String(128), primary_key=True),
    Column("spec", JSON, nullable=False),
    Column("model", String(128), nullable=False),
    Column("alias", String(64), nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("detached_by", String(128), nullable=True),
    Column("detached_at", TS, nullable=True),
    Column("detach_reason", Text, nullable=True),
)

loop_runs = Table(
    "loop_runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("project", String(128), ForeignKey("projects.name"), nullable=False),
    Column("loop", String(128), nullable=False),
    Column("state", String(32), nullable=False),
    Column("trigger", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("alert", String(64), nullable=True),
    Column("started_by", String(128), nullable=False),
    Column("started_at", TS, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("pipeline_run", String(32), nullable=True, unique=True),
    Column("candidate", String(256), nullable=True),
    Column("request", String(32), nullable=True),
    Column("canary_since", TS, nullable=True),
    Column("ended_at", TS, nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("steps", JSON, nullable=False),
    UniqueConstraint("project", "loop", "alert"),
    Index("ix_loop_runs_project_state", "project", "state"),
)


# --- monitors (migration 0024) --------------------------------------------------------------
# A monitor watches one deployment's prediction log in windows. `revision` counts changes
# (processing included): processing claims the row with a lease (`lease_owner`,
# `lease_until`, set by a conditional UPDATE) and commits only while it still holds it, so two
# processors never both write a window. Window documents (summary, performance, assessment)
# are JSON text written by the store's codec (NaN kept), never the rows themselves.
monitors = Table(
    "monitors",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("project", String(128), ForeignKey("projects.name"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("deployment_id", String(32), ForeignKey("deployments.id"), nullable=False, index=True),
    Column("window_kind", String(8), nullable=False),
    Column("window_seconds", Float, nullable=True),
    Column("window_rows", BigInteger, nullable=True),
    Column("reference", String(256), nullable=False),
    Column("reference_digest", String(64), nullable=True),
    Column("target", String(256), nullable=True),
    Column("model_version", Integer, nullable=True),
    Column("min_rows", BigInteger, nullable=False),
    Column("alert_k", Integer, nullable=False),
    Column("alert_n", Integer, nullable=False),
    Column("label_horizon", Float, nullable=False),
    Column("grace", Float, nullable=False),
    Column("owner", String(128), nullable=False),
    Column("since", TS, nullable=False),
    Column("status", String(16), nullable=False),
    Column("status_reason", Text, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("updated_by", String(128), nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("processed_at", TS, nullable=True),
    Column("feedback_cursor", TS, nullable=True),
    Column("endpoint", String(2048), nullable=True),  # the live server checked for model shift
    Column("check_every", Float, nullable=False, server_default="300"),
    Column("no_traffic_after", Integer, nullable=True),  # windows without rows before alerting
    Column("evaluation", String(256), nullable=True),  # dataset for model outputs (NULL: default)
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", TS, nullable=True),
    UniqueConstraint("project", "name"),
)

monitor_windows = Table(
    "monitor_windows",
    metadata,
    Column("monitor_id", String(32), ForeignKey("monitors.id"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("start_at", TS, nullable=False),
    Column("end_at", TS, nullable=False),
    Column("rows", BigInteger, nullable=False),
    Column("labelled", BigInteger, nullable=False),
    Column("closed", Boolean, nullable=False),
    Column("summary", Text, nullable=False),
    Column("performance", Text, nullable=True),
    Column("assessment", Text, nullable=True),
    Column("flags", JSON, nullable=False),
    Column("parts", JSON, nullable=False),
    Column("closed_at", TS, nullable=True),
    Column("updated_at", TS, nullable=False),
    Column("model_version", Integer, nullable=True),  # whose reference; NULL: the monitor's first
    Index("ix_monitor_windows_monitor_start", "monitor_id", "start_at"),
)

# A monitor's reference per model version (the first built at creation, the others when a
# version's rows first arrive): the dataset version compared with and the stored reference.
monitor_references = Table(
    "monitor_references",
    metadata,
    Column("monitor_id", String(32), ForeignKey("monitors.id"), primary_key=True),
    Column("model_version", Integer, primary_key=True),
    Column("dataset", String(256), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("built_at", TS, nullable=False),
    Column("evaluation", String(256), nullable=True),  # the model outputs' dataset version
    Column("evaluation_from", String(16), nullable=True),  # named, promotion or reference
)

# The log segments a monitor has read (each exactly once).
monitor_segments = Table(
    "monitor_segments",
    metadata,
    Column("monitor_id", String(32), ForeignKey("monitors.id"), primary_key=True),
    Column("segment_id", String(32), ForeignKey("log_segments.id"), primary_key=True),
    Column("consumed_at", TS, nullable=False),
)

monitor_checks = Table(
    "monitor_checks",
    metadata,
    Column("monitor_id", String(32), ForeignKey("monitors.id"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("details", Text, nullable=False),
    Column("at", TS, nullable=False),
    Column("by", String(128), nullable=False),
)

# One row per alert; `live_key` (monitor:kind:subject) is set while it is open or acknowledged
# and NULL once resolved, so the unique constraint allows one live alert per condition.
alerts = Table(
    "alerts",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("project", String(128), ForeignKey("projects.name"), nullable=False),
    Column("monitor_id", String(32), ForeignKey("monitors.id"), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("subject", String(256), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("owner", String(128), nullable=False),
    Column("title", Text, nullable=False),
    Column("details", Text, nullable=False),
    Column("since", TS, nullable=False),
    Column("first_window", Integer, nullable=True),
    Column("last_window", Integer, nullable=True),
    Column("windows", Integer, nullable=False),
    Column("opened_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("acknowledged_by", String(128), nullable=True),
    Column("acknowledged_at", TS, nullable=True),
    Column("resolved_by", String(128), nullable=True),
    Column("resolved_at", TS, nullable=True),
    Column("live_key", String(512), nullable=True, unique=True),
    Index("ix_alerts_project_state", "project", "state"),
)

alert_notes = Table(
    "alert_notes",
    metadata,
    Column("alert_id", String(32), ForeignKey("alerts.id"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("at", TS, nullable=False),
    Column("who", String(128), nullable=False),
    Column("what", String(16), nullable=False),
    Column("text", Text, nullable=False),
)
