"""The `identity` area's operations, `IdentityApi`: each one its service
method (`op`, `client/ops.py`), bound in-process by `client.local` and sent by its route
in `client/http/identity.py`."""

from __future__ import annotations

from relayml.client.ops import op
from relayml.services.identity import IdentityService


class IdentityApi:
    """`services.identity`: projects, users, tokens and role grants."""

    whoami = op(IdentityService.whoami)
    create_project = op(IdentityService.create_project)
    ensure_project = op(IdentityService.ensure_project)
    list_projects = op(IdentityService.list_projects)
    create_user = op(IdentityService.create_user)
    issue_token = op(IdentityService.issue_token)
    list_tokens = op(IdentityService.list_tokens)
    revoke_token = op(IdentityService.revoke_token)
    set_user_active = op(IdentityService.set_user_active)
    list_users = op(IdentityService.list_users)
    grant = op(IdentityService.grant)
    revoke = op(IdentityService.revoke)
