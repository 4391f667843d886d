"""The role x action matrix: the table's promises, roles documents (custom roles, built-in roles
narrowed and widened, a project's over the installation's), and the service layer enforcing
the table in force, for every role, built-in or custom."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from relayml.client.base import Backend
from relayml.domain.identity import Role
from relayml.domain.roles import (
    ADMIN_KEEPS,
    DEFAULT_TABLE,
    INSTALLATION,
    MAX_ROLES,
    PERMISSIONS,
    PROJECT,
    Action,
    RoleTable,
    apply_document,
    is_allowed,
    parse_roles,
)
from relayml.errors import InvalidInput, PermissionDenied
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


# A custom role, a narrowed built-in and a widened one (the installation's document).
CUSTOM = """\
roles:
  risk_officer:
    description: approves on risk grounds, reads no raw data
    actions: [project.read, role.read, audit.read, experiment.read, run.read, artifact.read,
              model.read, promotion.approve, compliance.report, request.read]
  data_scientist:
    remove: [run.update, artifact.write, artifact.read]
  stakeholder:
    add: [run.create, run.update, webhook.read, user.read]
"""
# A project's document over it: the stakeholder loses again what the installation gave.
PROJECT_DOC = """\
roles:
  stakeholder:
    remove: [run.create, dataset.read]
  risk_officer:
    add: [dataset.read]
  auditor:
    actions: [audit.read]
"""
ROLES = [r.value for r in Role] + ["risk_officer"]


def _custom() -> RoleTable:
    return apply_document(DEFAULT_TABLE, parse_roles(CUSTOM), INSTALLATION, 1)


def test_the_default_table_is_the_permissions_table() -> None:
    for action in Action:
        for role in Role:
            assert DEFAULT_TABLE.allows({role.value}, action) == (role in PERMISSIONS[action])
    assert DEFAULT_TABLE.names() == [r.value for r in Role]


@pytest.mark.parametrize("action", list(Action))
def test_a_document_decides_every_action_for_custom_narrowed_and_widened_roles(
    action: Action,
) -> None:
    """Every action, for a custom role (exactly its actions), a narrowed built-in (its default
    less what was removed), a widened one (its default and what was added), and a project's
    document over the installation's."""
    table = _custom()
    risk = {
        "project.read", "role.read", "audit.read", "experiment.read", "run.read",
        "artifact.read", "model.read", "promotion.approve", "compliance.report", "request.read",
    }  # fmt: skip
    assert table.allows({"risk_officer"}, action) == (action.value in risk)
    narrowed = {"run.update", "artifact.write", "artifact.read"}
    ds = Role.DATA_SCIENTIST in PERMISSIONS[action] and action.value not in narrowed
    assert table.allows({"data_scientist"}, action) == ds
    widened = {"run.create", "run.update", "webhook.read", "user.read"}
    st = Role.STAKEHOLDER in PERMISSIONS[action] or action.value in widened
    assert table.allows({"stakeholder"}, action) == st
    for role in Role:  # the others are the defaults
        if role not in (Role.DATA_SCIENTIST, Role.STAKEHOLDER):
            assert table.allows({role.value}, action) == (role in PERMISSIONS[action])
    assert not table.allows({"nobody"}, action)
    in_p = apply_document(table, parse_roles(PROJECT_DOC), PROJECT, 1)
    st_p = st and action.value not in {"run.create", "dataset.read"}
    assert in_p.allows({"stakeholder"}, action) == st_p
    ro_p = action.value in risk | {"dataset.read"}
    assert in_p.allows({"risk_officer"}, action) == ro_p
    assert in_p.allows({"auditor"}, action) == (action is Action.AUDIT_READ)
    assert in_p.allows({"stakeholder", "auditor"}, action) == (st_p or action is Action.AUDIT_READ)
    assert (action in ADMIN_KEEPS) <= in_p.allows({"admin"}, action)


def test_where_a_role_comes_from_and_how_it_differs() -> None:
    table = _custom()
    in_p = apply_document(table, parse_roles(PROJECT_DOC), PROJECT, 4)
    assert (in_p.installation_version, in_p.project_version) == (1, 4)
    st = in_p.roles["stakeholder"]
    assert st.source == "built-in, changed by installation and project"
    assert {a.value for a in st.added} == {"run.update", "webhook.read", "user.read"}
    assert {a.value for a in st.removed} == {"dataset.read"}
    ro = in_p.roles["risk_officer"]
    assert (ro.source, ro.builtin) == ("installation, changed by project", False)
    assert ro.added == {Action.DATASET_READ} and not ro.removed
    assert in_p.roles["auditor"].source == "project"
    assert in_p.roles["admin"].source == "built-in"
    assert in_p.names()[:8] == [r.value for r in Role]
    assert in_p.names()[8:] == ["auditor", "risk_officer"]
    assert in_p.holders(Action.PROMOTION_APPROVE) == ("model_governance", "admin", "risk_officer")
    # a project's own definition replaces the installation's
    own = apply_document(table, parse_roles("roles:\n  risk_officer:\n    actions: [audit.read]\n"),
                         PROJECT, 1)  # fmt: skip
    assert own.roles["risk_officer"].actions == {Action.AUDIT_READ}
    assert own.roles["risk_officer"].defined_in == "project"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("roles:\n  r:\n    actions: [dataset.raed]\n", "unknown action 'dataset.raed'"),
        ("roles:\n  r:\n    actions: [model.read]\n    add: [run.read]\n", "not both"),
        ("roles:\n  r:\n    actions: []\n", "at least one action"),
        ("roles:\n  r:\n    description: x\n", "no actions"),
        ("roles:\n  r: {}\n", "says nothing"),
        ("roles:\n  r: [model.read]\n", "must be a mapping"),
        ("roles:\n  r:\n    actions: model.read\n", "must be a list"),
        ("roles:\n  r:\n    actoins: [model.read]\n", "unknown keys"),
        ("roles:\n  stakeholder:\n    add: [run.read]\n    remove: [run.read]\n", "both adds"),
        ("roles:\n  stakeholder:\n    actions: [run.read]\n", "built-in role"),
        ("roles:\n  admin:\n    remove: [role.manage]\n", "admin always keeps"),
        ("roles:\n  admin:\n    remove: [user.manage, dataset.read]\n", "user.manage"),
        ("roles:\n  Risk:\n    actions: [model.read]\n", "invalid role name"),
        ("roles:\n  " + "r" * 33 + ":\n    actions: [model.read]\n", "invalid role name"),
        ("roles: [a]\n", "must map role names"),
        ("policy: {}\n", "unknown keys"),
        ("- roles\n", "a mapping with one key"),
        ("roles: {a: [\n", "not valid YAML"),
        ("roles:\n" + "".join(f"  r{i}:\n    actions: [model.read]\n" for i in range(101)),
         f"at most {MAX_ROLES} roles"),
        ("# " + "x" * 70_000, "at most 64 KiB"),
    ],
)  # fmt: skip
def test_bad_documents_are_refused_saying_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(says)):
        parse_roles(text)


def test_an_unknown_action_lists_the_valid_ones_and_a_bomb_is_refused() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_roles("roles:\n  r:\n    actions: [model.raed]\n")
    assert all(a.value in str(info.value) for a in Action)
    lol = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{n}: &{n} [{', '.join(['*' + p] * 10)}]\n"
        for p, n in zip("abcdef", "bcdefg", strict=True)
    )
    with pytest.raises(InvalidInput, match="refused"):
        parse_roles(lol)


def test_changing_a_role_the_level_below_does_not_define() -> None:
    ghost = parse_roles("roles:\n  ghost:\n    add: [model.read]\n")
    with pytest.raises(InvalidInput, match="define it here"):
        apply_document(DEFAULT_TABLE, ghost, INSTALLATION, 1)
    with pytest.raises(InvalidInput, match="the installation do not define"):
        apply_document(DEFAULT_TABLE, ghost, PROJECT, 1)
    # read back from storage after the installation dropped it: skipped, not an error
    assert "ghost" not in apply_document(DEFAULT_TABLE, ghost, PROJECT, 1, strict=False).roles
    assert parse_roles("").specs == () and parse_roles("roles: {}\n").specs == ()


@pytest.fixture(scope="module", params=["built-in", "custom"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Backend, dict[str, Backend], RoleTable]]:
    """Users holding each role platform-wide, with the built-in roles or with CUSTOM applied
    to the installation (and the table the test expects)."""
    home = tmp_path_factory.mktemp(f"roles-{request.param}")
    settings = settings_for(home)
    admin = connect(settings=settings, project="matrix").backend
    table = DEFAULT_TABLE
    if request.param == "custom":
        admin.roles.apply(CUSTOM)
        table = _custom()
    users = {}
    for role in table.names():
        issued = admin.identity.create_user(f"only-{role}", [role], "*")
        users[role] = connect(settings=settings, token=issued.token).backend
    yield admin, users, table
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
        Action.ROLE_READ: lambda b: b.roles.list_roles("matrix"),
        Action.ROLE_MANAGE: lambda b: b.roles.apply("", "matrix"),  # the installation's stays
    }


@pytest.mark.parametrize("role", ROLES)
def test_service_layer_enforces_the_table(
    world: tuple[Backend, dict[str, Backend], RoleTable], role: str, tmp_path: Path
) -> None:
    admin, users, table = world
    if role not in users:  # with the built-in table, a custom role does not exist to grant
        with pytest.raises(InvalidInput, match="unknown role 'risk_officer'"):
            admin.identity.create_user(f"u-{uuid.uuid4().hex[:8]}", [role], "*")
        return
    run_id = admin.tracking.create_run(project="matrix", experiment="m").id
    file = tmp_path / "f.txt"
    file.write_text("x")
    for action, attempt in _attempts(admin, run_id, file).items():
        if table.allows({role}, action):
            attempt(users[role])
        else:
            with pytest.raises(PermissionDenied, match=re.escape(action.value)):
                attempt(users[role])
