"""What each role may do: one table, checked in one place (the service layer).

Every action the platform has or will have is declared here, so later features only fill in
behaviour. `tests/domain/test_roles.py` walks the whole role x action matrix.
"""

from __future__ import annotations

from enum import StrEnum

from relayml.domain.identity import Role


class Action(StrEnum):
    # identity & platform
    PROJECT_CREATE = "project.create"
    PROJECT_READ = "project.read"
    USER_MANAGE = "user.manage"
    USER_READ = "user.read"
    GRANT_MANAGE = "grant.manage"
    AUDIT_READ = "audit.read"
    AUDIT_CHECKPOINT = "audit.checkpoint"
    STORAGE_GC = "storage.gc"
    # data engineering
    DATASET_READ = "dataset.read"
    DATASET_PUBLISH = "dataset.publish"
    DATASET_RELEASE = "dataset.release"
    CONTRACT_EDIT = "contract.edit"
    CHECK_TRUST = "check.trust"  # let published data run an installed custom check (admin)
    PIPELINE_READ = "pipeline.read"
    PIPELINE_RUN = "pipeline.run"
    PIPELINE_EDIT = "pipeline.edit"
    SCHEDULE_MANAGE = "schedule.manage"
    # experiments
    EXPERIMENT_READ = "experiment.read"
    RUN_READ = "run.read"
    RUN_CREATE = "run.create"
    RUN_UPDATE = "run.update"
    RUN_DELETE = "run.delete"
    ARTIFACT_READ = "artifact.read"
    ARTIFACT_WRITE = "artifact.write"
    # registry & governance
    MODEL_READ = "model.read"
    MODEL_REGISTER = "model.register"
    MODEL_EVALUATE = "model.evaluate"
    MODEL_CARD_EDIT = "model.card.edit"
    PROMOTION_REQUEST = "promotion.request"
    PROMOTION_APPROVE = "promotion.approve"
    POLICY_MANAGE = "policy.manage"
    COMPLIANCE_REPORT = "compliance.report"
    # deployment & monitoring
    DEPLOYMENT_READ = "deployment.read"
    DEPLOYMENT_CREATE = "deployment.create"
    DEPLOYMENT_ROLLBACK = "deployment.rollback"
    PREDICTION_LOG_WRITE = "prediction_log.write"  # a model server registers log segments
    MONITOR_READ = "monitor.read"
    MONITOR_MANAGE = "monitor.manage"
    ALERT_ACK = "alert.ack"
    # stakeholders & hand-offs
    FEEDBACK_SUBMIT = "feedback.submit"
    FEEDBACK_READ = "feedback.read"
    REQUIREMENT_SET = "requirement.set"
    DASHBOARD_READ = "dashboard.read"
    REQUEST_CREATE = "request.create"
    REQUEST_READ = "request.read"
    REQUEST_UPDATE = "request.update"
    # operations
    SERVICE_METRICS_READ = "service.metrics.read"
    CI_TRIGGER = "ci.trigger"
    WEBHOOK_READ = "webhook.read"
    WEBHOOK_MANAGE = "webhook.manage"


R = Role
_EVERYONE = frozenset(Role)
_BUILDERS = frozenset({R.DATA_SCIENTIST, R.ML_ENGINEER, R.MLOPS_ENGINEER, R.ADMIN})
_DATA = frozenset({R.DATA_ENGINEER, R.MLOPS_ENGINEER, R.ADMIN})
_DEPLOYERS = frozenset({R.ML_ENGINEER, R.MLOPS_ENGINEER, R.ADMIN})
_OPS = frozenset({R.MLOPS_ENGINEER, R.DEVOPS_ENGINEER, R.ADMIN})

PERMISSIONS: dict[Action, frozenset[Role]] = {
    Action.PROJECT_CREATE: frozenset({R.ADMIN}),
    Action.PROJECT_READ: _EVERYONE,
    Action.USER_MANAGE: frozenset({R.ADMIN}),
    Action.USER_READ: frozenset({R.ADMIN, R.MODEL_GOVERNANCE}),
    Action.GRANT_MANAGE: frozenset({R.ADMIN}),
    Action.AUDIT_READ: frozenset({R.MODEL_GOVERNANCE, R.ADMIN}),
    Action.AUDIT_CHECKPOINT: frozenset({R.ADMIN}),
    Action.STORAGE_GC: frozenset({R.ADMIN}),
    Action.DATASET_READ: _EVERYONE,
    Action.DATASET_PUBLISH: _DATA,
    Action.DATASET_RELEASE: _DATA,
    Action.CONTRACT_EDIT: _DATA,
    Action.CHECK_TRUST: frozenset({R.ADMIN}),
    Action.PIPELINE_READ: _EVERYONE,
    Action.PIPELINE_RUN: _DATA,
    Action.PIPELINE_EDIT: _DATA,
    Action.SCHEDULE_MANAGE: _DATA,
    Action.EXPERIMENT_READ: _EVERYONE,
    Action.RUN_READ: _EVERYONE,
    Action.RUN_CREATE: _BUILDERS,
    Action.RUN_UPDATE: _BUILDERS,
    Action.RUN_DELETE: frozenset({R.DATA_SCIENTIST, R.ADMIN}),
    Action.ARTIFACT_READ: _EVERYONE,
    Action.ARTIFACT_WRITE: _BUILDERS,
    Action.MODEL_READ: _EVERYONE,
    Action.MODEL_REGISTER: frozenset({R.DATA_SCIENTIST, R.ML_ENGINEER, R.ADMIN}),
    Action.MODEL_EVALUATE: _BUILDERS | {R.MODEL_GOVERNANCE},
    Action.MODEL_CARD_EDIT: frozenset(
        {R.DATA_SCIENTIST, R.ML_ENGINEER, R.MODEL_GOVERNANCE, R.ADMIN}
    ),
    Action.PROMOTION_REQUEST: frozenset({R.DATA_SCIENTIST, R.ML_ENGINEER, R.ADMIN}),
    Action.PROMOTION_APPROVE: frozenset({R.MODEL_GOVERNANCE, R.ADMIN}),
    Action.POLICY_MANAGE: frozenset({R.MLOPS_ENGINEER, R.MODEL_GOVERNANCE, R.ADMIN}),
    Action.COMPLIANCE_REPORT: frozenset({R.MODEL_GOVERNANCE, R.ADMIN}),
    Action.DEPLOYMENT_READ: _EVERYONE,
    Action.DEPLOYMENT_CREATE: _DEPLOYERS,
    Action.DEPLOYMENT_ROLLBACK: _DEPLOYERS | {R.DEVOPS_ENGINEER},
    # whoever runs a model server (DevOps too) records what it served
    Action.PREDICTION_LOG_WRITE: _DEPLOYERS | {R.DEVOPS_ENGINEER},
    Action.MONITOR_READ: _EVERYONE,
    Action.MONITOR_MANAGE: _DEPLOYERS,
    Action.ALERT_ACK: _DEPLOYERS | {R.DEVOPS_ENGINEER, R.DATA_ENGINEER},
    Action.FEEDBACK_SUBMIT: frozenset({R.STAKEHOLDER, R.ML_ENGINEER, R.ADMIN}),
    Action.FEEDBACK_READ: _EVERYONE,
    Action.REQUIREMENT_SET: frozenset({R.STAKEHOLDER, R.MODEL_GOVERNANCE, R.ADMIN}),
    Action.DASHBOARD_READ: _EVERYONE,
    Action.REQUEST_CREATE: _EVERYONE,
    Action.REQUEST_READ: _EVERYONE,
    Action.REQUEST_UPDATE: _EVERYONE,
    Action.SERVICE_METRICS_READ: _OPS | {R.ML_ENGINEER},
    Action.CI_TRIGGER: _OPS,
    # a webhook sends the project's events out of Relay: the platform owners decide where to
    Action.WEBHOOK_READ: _OPS | {R.ML_ENGINEER},
    Action.WEBHOOK_MANAGE: frozenset({R.MLOPS_ENGINEER, R.ADMIN}),
}


def is_allowed(roles: frozenset[Role] | set[Role], action: Action) -> bool:
    return bool(PERMISSIONS[action] & roles)
