"""Roles as policy: ``relay.roles.apply("roles.yaml")``, ``list()``, ``show(name)``,
``history()``; `project=` names a project, none means the installation."""

from __future__ import annotations

from relayml.sdk.roles import apply_roles as apply
from relayml.sdk.roles import list_roles as list
from relayml.sdk.roles import role_history as history
from relayml.sdk.roles import show_role as show

__all__ = ["apply", "history", "list", "show"]
