"""What each role may do: one table, checked in one place (the service layer).

Every action the platform has or will have is declared here, so later features only fill in
behaviour. `PERMISSIONS` is the built-in table, the default. An admin changes it with a roles
document (`relay roles apply`), for the installation (every project) or for one project:

```yaml
roles:
  risk_officer:                      # a custom role: a new name and the actions it may do
    description: Approves promotions on risk grounds; reads no raw data
    actions: [model.read, request.read, promotion.approve, compliance.report]
  data_scientist:                    # a change to a role defined below this level
    remove: [run.delete]
  stakeholder:
    add: [model.evaluate]
```

The table a call is checked against (`RoleTable`) is the built-in one, then the installation's
document applied to it, then the project's: a project's document overrides the installation's
(its own definition of a custom role replaces the installation's; its add/remove apply after the
installation's). `tests/domain/test_roles.py` walks the whole role x action matrix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from relayml.domain.identity import Role, check_role_name
from relayml.domain.safe_yaml import load_yaml
from relayml.errors import InvalidInput


class Action(StrEnum):
    # identity & platform
    PROJECT_CREATE = "project.create"
    PROJECT_READ = "project.read"
    USER_MANAGE = "user.manage"
    USER_READ = "user.read"
    GRANT_MANAGE = "grant.manage"
    ROLE_MANAGE = "role.manage"
    ROLE_READ = "role.read"
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
    LOOP_READ = "loop.read"
    LOOP_MANAGE = "loop.manage"  # attach and detach a loop (alert -> retrain -> canary)
    LOOP_RUN = "loop.run"  # start a loop run by hand, drive loop runs (the runner's tick)
    LOOP_STOP = "loop.stop"  # stop a loop run; what it started is undone
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
    Action.ROLE_MANAGE: frozenset({R.ADMIN}),
    Action.ROLE_READ: _EVERYONE,
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
    Action.LOOP_READ: _EVERYONE,
    Action.LOOP_MANAGE: _DEPLOYERS,
    Action.LOOP_RUN: _DEPLOYERS,
    # a brake: whoever runs, watches or governs the deployment may pull it
    Action.LOOP_STOP: _DEPLOYERS | {R.DEVOPS_ENGINEER, R.MODEL_GOVERNANCE},
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


def is_allowed(roles: Iterable[str], action: Action) -> bool:
    """Whether the built-in table lets one of `roles` do `action` (services check the
    effective table of the project instead: `RoleTable.allows`)."""
    return not PERMISSIONS[action].isdisjoint(roles)


BUILTIN_DESCRIPTIONS: dict[Role, str] = {
    R.DATA_ENGINEER: "publishes datasets, writes data contracts, runs and schedules pipelines",
    R.DATA_SCIENTIST: "runs experiments, registers candidate models, requests promotion",
    R.ML_ENGINEER: "evaluates and deploys model versions, owns monitors, rolls back",
    R.MLOPS_ENGINEER: "owns the platform: promotion policies, pipelines, webhooks",
    R.DEVOPS_ENGINEER: "CI/CD, service health and metrics, rollback",
    R.MODEL_GOVERNANCE: "approves or rejects promotions, reads the audit trail, reports",
    R.STAKEHOLDER: "reads the project, gives feedback, sets metric requirements",
    R.ADMIN: "manages users, grants, roles and projects; may do everything",
}

ADMIN_KEEPS = (Action.ROLE_MANAGE, Action.GRANT_MANAGE, Action.USER_MANAGE)
"""What no document may take from `admin`: with them the platform admin (of whom there is
always one) can undo any roles change and grant any role, so no document locks anyone out."""

BUILTIN_ROLES = frozenset(r.value for r in Role)

MAX_ROLES_BYTES = 64 * 1024
MAX_ROLES = 100

# where a role is defined, or was changed
BUILT_IN = "built-in"
INSTALLATION = "installation"
PROJECT = "project"


def valid_actions() -> str:
    return ", ".join(a.value for a in Action)


def parse_action(value: object, where: str) -> Action:
    """An action by its name; unknown names are refused naming every valid one."""
    if isinstance(value, str):
        try:
            return Action(value)
        except ValueError:
            pass
    raise InvalidInput(f"unknown action {value!r} in {where}; valid actions: {valid_actions()}")


@dataclass(frozen=True)
class RoleSpec:
    """One entry of a roles document: a role defined there (`actions`, with a description)
    or a change to a role defined below it (`add`, `remove`)."""

    name: str
    actions: frozenset[Action] | None = None
    description: str = ""
    add: frozenset[Action] = frozenset()
    remove: frozenset[Action] = frozenset()

    @property
    def defines(self) -> bool:
        return self.actions is not None


@dataclass(frozen=True)
class RolesDoc:
    """A parsed roles document (its entries in the order written)."""

    specs: tuple[RoleSpec, ...] = ()


EMPTY_DOC = RolesDoc()

_ENTRY_KEYS = {"description", "actions", "add", "remove"}


def _actions(where: str, value: object) -> frozenset[Action]:
    if not isinstance(value, list):
        raise InvalidInput(f"{where} must be a list of actions, e.g. [model.read, request.read]")
    return frozenset(parse_action(v, where) for v in value)


def _spec(name: object, entry: object) -> RoleSpec:
    where = f"roles.{name}"
    builtin = name in BUILTIN_ROLES
    if not builtin:
        check_role_name(name)
    assert isinstance(name, str)
    if not isinstance(entry, dict):
        raise InvalidInput(
            f"{where} must be a mapping: a new role has description and actions; a change to "
            "an existing one has add and/or remove"
        )
    unknown = sorted(str(k) for k in entry if k not in _ENTRY_KEYS)
    if unknown:
        raise InvalidInput(f"{where} has unknown keys {unknown}; allowed: {sorted(_ENTRY_KEYS)}")
    if "actions" in entry:
        if builtin:
            raise InvalidInput(
                f"{name} is a built-in role and cannot be redefined: change it with add and "
                "remove, or give the new role another name"
            )
        if "add" in entry or "remove" in entry:
            raise InvalidInput(
                f"{where} has actions and add/remove: a role is either defined here (actions) "
                "or changed (add, remove), not both"
            )
        actions = _actions(f"{where}.actions", entry["actions"])
        if not actions:
            raise InvalidInput(f"{where}.actions is empty: a role may do at least one action")
        description = entry.get("description", "")
        if not isinstance(description, str) or len(description) > 500:
            raise InvalidInput(f"{where}.description must be text of at most 500 characters")
        return RoleSpec(name, actions, description.strip())
    if "description" in entry:
        raise InvalidInput(
            f"{where} has a description but no actions: a description belongs to a role "
            "defined here (with actions)"
        )
    add = _actions(f"{where}.add", entry.get("add", []))
    remove = _actions(f"{where}.remove", entry.get("remove", []))
    if not add and not remove:
        raise InvalidInput(
            f"{where} says nothing: define a new role with actions: [...], or change one with "
            "add: [...] and/or remove: [...]"
        )
    both = sorted(a.value for a in add & remove)
    if both:
        raise InvalidInput(f"{where} both adds and removes {both}; say one or the other")
    if name == Role.ADMIN:
        taken = [a.value for a in ADMIN_KEEPS if a in remove]
        if taken:
            raise InvalidInput(
                f"roles.admin.remove takes {', '.join(taken)} from admin: refused, since then "
                "no one could undo a roles change or grant a role (admin always keeps "
                f"{', '.join(a.value for a in ADMIN_KEEPS)})"
            )
    return RoleSpec(name, add=add, remove=remove)


def parse_roles(text: str) -> RolesDoc:
    """A roles document from its YAML; InvalidInput naming what is wrong. Empty text (or
    `roles: {}`) is a document that changes nothing: applied, it restores the level below."""
    if not isinstance(text, str):
        raise InvalidInput("a roles document is YAML text")
    if len(text.encode("utf-8", "surrogatepass")) > MAX_ROLES_BYTES:
        raise InvalidInput(f"a roles document is at most {MAX_ROLES_BYTES // 1024} KiB of YAML")
    data, _ = load_yaml(text, "roles document")
    if data is None:
        return EMPTY_DOC
    if not isinstance(data, dict):
        raise InvalidInput("a roles document is a mapping with one key, roles")
    unknown = sorted(str(k) for k in data if k != "roles")
    if unknown:
        raise InvalidInput(f"the roles document has unknown keys {unknown}; allowed: ['roles']")
    roles = data.get("roles") or {}
    if not isinstance(roles, dict):
        raise InvalidInput("roles must map role names to their definition or change")
    if len(roles) > MAX_ROLES:
        raise InvalidInput(f"a roles document names at most {MAX_ROLES} roles")
    return RolesDoc(tuple(_spec(name, entry) for name, entry in roles.items()))


@dataclass(frozen=True)
class RoleInfo:
    """A role as it stands where it is used: what it may do, where it is defined, where it was
    changed, and what it could do as defined (`base`: a built-in's default, or a custom role's
    definition), so `added` and `removed` say how it differs from that."""

    name: str
    actions: frozenset[Action]
    description: str
    builtin: bool
    defined_in: str  # BUILT_IN, INSTALLATION or PROJECT
    base: frozenset[Action]
    changed_in: tuple[str, ...] = ()  # INSTALLATION and/or PROJECT, where add/remove applied

    @property
    def added(self) -> frozenset[Action]:
        return self.actions - self.base

    @property
    def removed(self) -> frozenset[Action]:
        return self.base - self.actions

    @property
    def source(self) -> str:
        """Where its definition comes from, in words: "built-in", "installation", "project",
        "built-in, changed by installation and project"."""
        if not self.changed_in:
            return self.defined_in
        return f"{self.defined_in}, changed by {' and '.join(self.changed_in)}"


_ORDER = {r.value: i for i, r in enumerate(Role)}


def _sort_key(name: str) -> tuple[int, str]:
    return (0, f"{_ORDER[name]:03}") if name in _ORDER else (1, name)


@dataclass(frozen=True)
class RoleTable:
    """The roles known in one place (the installation, or a project) and what each may do."""

    roles: Mapping[str, RoleInfo]
    installation_version: int = 0  # 0: no installation document applied
    project_version: int = 0  # 0: none for the project (or the table is the installation's)
    _holders: dict[Action, tuple[str, ...]] = field(default_factory=dict, compare=False)

    def allows(self, roles: Iterable[str], action: Action) -> bool:
        for name in roles:
            info = self.roles.get(name)
            if info is not None and action in info.actions:
                return True
        return False

    def holders(self, action: Action) -> tuple[str, ...]:
        """The roles that may do `action`, built-ins first."""
        found = self._holders.get(action)
        if found is None:
            found = tuple(n for n in self.names() if action in self.roles[n].actions)
            self._holders[action] = found
        return found

    def names(self) -> list[str]:
        return sorted(self.roles, key=_sort_key)

    def get(self, name: str) -> RoleInfo | None:
        return self.roles.get(name)

    def require_known(self, name: str, where: str) -> str:
        """`name` if it is a role here; otherwise InvalidInput listing the roles there are."""
        check_role_name(name)
        if name not in self.roles:
            raise InvalidInput(
                f"unknown role {name!r} in {where}; known roles: {', '.join(self.names())} "
                "(relay roles ls; an admin defines new ones with relay roles apply)"
            )
        return name


def _builtin_table() -> RoleTable:
    roles = {}
    for role in Role:
        actions = frozenset(a for a, holders in PERMISSIONS.items() if role in holders)
        roles[role.value] = RoleInfo(
            role.value, actions, BUILTIN_DESCRIPTIONS[role], True, BUILT_IN, actions
        )
    return RoleTable(roles)


DEFAULT_TABLE = _builtin_table()
"""The built-in roles with their default actions (`PERMISSIONS`), before any document."""


def apply_document(
    table: RoleTable, doc: RolesDoc, level: str, version: int, *, strict: bool = True
) -> RoleTable:
    """`table` with `doc` applied at `level` (INSTALLATION on the built-in table, PROJECT on an
    installation's). A change to a role `table` does not know is refused when `strict` (an
    apply), skipped otherwise (reading a stored document after the level below changed)."""
    roles = dict(table.roles)
    for spec in doc.specs:
        if spec.defines:
            assert spec.actions is not None
            roles[spec.name] = RoleInfo(
                spec.name, spec.actions, spec.description, False, level, spec.actions
            )
            continue
        found = roles.get(spec.name)
        if found is None:
            if not strict:
                continue
            below = "the installation" if level == PROJECT else "the built-in roles"
            raise InvalidInput(
                f"roles.{spec.name} changes a role {below} do not define; define it here with "
                f"actions: [...], or name a known role: {', '.join(table.names())}"
            )
        if spec.name == Role.ADMIN and any(a in spec.remove for a in ADMIN_KEEPS):
            continue  # refused by parse_roles; never honoured from a stored document either
        roles[spec.name] = replace(
            found,
            actions=(found.actions | spec.add) - spec.remove,
            changed_in=(*found.changed_in, level),
        )
    if level == INSTALLATION:
        return RoleTable(roles, installation_version=version)
    return RoleTable(
        roles, installation_version=table.installation_version, project_version=version
    )


@dataclass(frozen=True)
class RolesDocument:
    """A roles document as applied: a version of the installation's (scope '*') or of one
    project's, kept as written, never edited."""

    scope: str
    version: int
    text: str
    digest: str  # sha256 of the text (UTF-8)
    created_by: str
    created_at: datetime

    def to_payload(self) -> dict[str, Any]:
        """What the audit event of its apply carries (its digest covers the text)."""
        return {"scope": self.scope, "version": self.version, "digest": self.digest}
