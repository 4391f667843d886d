"""Roles as policy from Python: custom roles and changes to the built-in ones.

    relay.roles.apply("roles.yaml")                   # the installation's (every project)
    relay.roles.apply(text, project="churn")          # one project's, over the installation's
    relay.roles.show("risk_officer", project="churn").actions

`project=None` means the installation, not the session's project: a roles change says where
it applies.
"""

from __future__ import annotations

from pathlib import Path

from relayml.domain.roles import RoleInfo, RolesDocument
from relayml.sdk import session as _session


def apply_roles(text: str, *, project: str | None = None) -> RolesDocument:
    """Make `text` (YAML, or a path to a YAML file) the roles document of `project`, or of the
    installation (None): a new version, audited. Refused whole, changing nothing, when invalid
    or when it would break a grant, a promotion policy or a project's own document."""
    if "\n" not in text and text.endswith((".yaml", ".yml")):
        text = Path(text).read_text(encoding="utf-8")
    return _session.current().backend.roles.apply(text, project)


def list_roles(*, project: str | None = None) -> list[RoleInfo]:
    """Every role in `project` (None: the installation), built-in or custom."""
    return _session.current().backend.roles.list_roles(project)


def show_role(name: str, *, project: str | None = None) -> RoleInfo:
    """One role where it is used: `.actions`, `.added`, `.removed`, `.source`."""
    return _session.current().backend.roles.get(name, project)


def role_history(*, project: str | None = None, limit: int = 100) -> list[RolesDocument]:
    """The versions of the roles document, newest first."""
    return _session.current().backend.roles.history(project, limit)
