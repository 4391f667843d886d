"""The `roles` area's operations, `RolesApi`: each one its service
method (`op`, `client/ops.py`), bound in-process by `client.local` and sent by its route
in `client/http/roles.py`."""

from __future__ import annotations

from relayml.client.ops import op
from relayml.services.roles import RoleService


class RolesApi:
    """`services.roles`: custom roles and changes to the built-in ones, for the installation
    (project None) or one project."""

    list_roles = op(RoleService.list_roles)
    get = op(RoleService.get)
    history = op(RoleService.history)
    apply = op(RoleService.apply)
