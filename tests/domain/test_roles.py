"""The role x action matrix: the table's promises, and the service layer enforcing them."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from relayml.client.base import Backend
from relayml.domain.identity import Role
from relayml.domain.roles import PERMISSIONS, Action, is_allowed
from relayml.errors import PermissionDenied
from relayml.sdk.session import connect
from tests.conftest import settings_for

READ_ACTIONS = {a for a in Action if a.value.endswith((".read",))} | {Action.DASHBOARD_READ}


def test_every_action_is_in_the_table_and_admin_can_do_it() -> None:
    assert set(PERMISSIONS) == set(Action)
    assert all(Role.ADMIN in roles for roles in PERMISSIONS.values())


def test_issue_rules() -> None:
    only_admin = {a for a, roles in PERMISSIONS.items() if roles == {Role.ADMIN}}
    assert {Action.USER_MANAGE, Action.GRANT_MANAGE, Action.PROJECT_CREATE} <= only_admin
    assert PERMISSIONS[Action.AUDIT_READ] == {Role.MODEL_GOVERNANCE, Role.ADMIN}
    assert PERMISSIONS[Action.PROMOTION_APPROVE] == {Role.MODEL_GOVERNANCE, Role.ADMIN}
    stakeholder = {a for a in Action if is_allowed({Role.STAKEHOLDER}, a)}
    assert Action.RUN_CREATE not in stakeholder and Action.RUN_READ in stakeholder
    writes = stakeholder - READ_ACTIONS
    assert writes == {
        Action.FEEDBACK_SUBMIT,
        Action.REQUIREMENT_SET,
        Action.REQUEST_CREATE,
        Action.REQUEST_UPDATE,
    }


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Backend, dict[Role, Backend], str]]:
    home = tmp_path_factory.mktemp("roles")
    settings = settings_for(home)
    admin = connect(settings=settings, project="matrix").backend
    users = {}
    for role in Role:
        issued = admin.identity.create_user(f"only-{role.value}", [role.value], "*")
        users[role] = connect(settings=settings, token=issued.token).backend
    yield admin, users, home.as_posix()
    for b in [admin, *users.values()]:
        b.close()


def _attempts(admin: Backend, run_id: str, file: Path) -> dict[Action, Callable[[Backend], object]]:
    def fresh() -> str:
        return uuid.uuid4().hex[:8]

    def writable_run(b: Backend) -> str:
        """A run `b` may write to if its role allows: only a run's owner (or an admin) writes
        to it, so a role that may create runs writes to its own; any other gets admin's."""
        try:
            return b.tracking.create_run(project="matrix", experiment="m").id
        except PermissionDenied:
            return run_id

    return {
        Action.PROJECT_CREATE: lambda b: b.identity.create_project(f"p-{fresh()}"),
        Action.USER_MANAGE: lambda b: b.identity.create_user(
            f"u-{fresh()}", ["stakeholder"], "matrix"
        ),
        Action.USER_READ: lambda b: b.identity.list_users("matrix"),
        Action.GRANT_MANAGE: lambda b: b.identity.grant(
            "only-stakeholder", "stakeholder", "matrix"
        ),
        Action.AUDIT_READ: lambda b: b.audit.log(project="matrix", limit=1),
        Action.EXPERIMENT_READ: lambda b: b.tracking.list_experiments("matrix"),
        Action.RUN_READ: lambda b: b.tracking.get_run(run_id),
        Action.RUN_CREATE: lambda b: b.tracking.create_run(project="matrix", experiment="m"),
        Action.RUN_UPDATE: lambda b: b.tracking.log_batch(writable_run(b), tags={"t": fresh()}),
        Action.ARTIFACT_WRITE: lambda b: b.artifacts.log_artifact(
            writable_run(b), f"a/{fresh()}.txt", file
        ),
        Action.ARTIFACT_READ: lambda b: b.artifacts.list_artifacts(run_id),
        Action.WEBHOOK_READ: lambda b: b.notifications.list_webhooks("matrix"),
        Action.WEBHOOK_MANAGE: lambda b: b.notifications.add_webhook(
            "matrix", "https://hooks.example.com/r"
        ),
    }


@pytest.mark.parametrize("role", list(Role))
def test_service_layer_enforces_the_table(
    world: tuple[Backend, dict[Role, Backend], str], role: Role, tmp_path: Path
) -> None:
    admin, users, _ = world
    run_id = admin.tracking.create_run(project="matrix", experiment="m").id
    file = tmp_path / "f.txt"
    file.write_text("x")
    for action, attempt in _attempts(admin, run_id, file).items():
        if is_allowed({role}, action):
            attempt(users[role])
        else:
            with pytest.raises(PermissionDenied, match=action.value):
                attempt(users[role])
