"""The permission check with roles documents in force: one read of the documents' versions per
transaction however many checks it makes, a document parsed once per process, and a change made
by another process in force at its next transaction. Statements are counted, not timed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from relayml.errors import Conflict, PermissionDenied
from relayml.services import Services, open_services
from tests.api.test_token_cache import Statements, _queries

DOC = "roles:\n  stakeholder:\n    add: [run.create]\n"


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'relay.db'}"


@pytest.fixture
def services(url: str, tmp_path: Path) -> Iterator[Services]:
    svc = open_services(url, str(tmp_path / "artifacts"))
    yield svc
    svc.close()


def _roles_reads(sql: list[str]) -> list[str]:
    return [s for s in _queries(sql) if "role_documents" in s]


def test_one_read_of_the_documents_per_transaction(services: Services) -> None:
    admin = services.identity.provision_local("admin")
    for p in ("churn", "fraud"):
        services.identity.create_project(admin, p)
    services.roles.apply(admin, DOC)
    services.roles.apply(admin, DOC, "churn")
    services.identity.grant(admin, "admin", "stakeholder", "churn")
    count = Statements(services)
    sql = count.during(lambda: services.tracking.list_experiments(admin, "churn"))
    (heads,) = _roles_reads(sql)  # the installation's and churn's newest versions, together
    assert "text" not in heads.split("FROM")[0]  # the documents themselves are not read again
    # the inbox checks the caller's roles in every project (default, churn, fraud): the first
    # read brings the installation's with the project's, then one per project
    sql = count.during(lambda: services.models.inbox(admin))
    assert len(_roles_reads(sql)) == 3


def test_another_process_change_is_in_force_at_the_next_call(
    services: Services, url: str, tmp_path: Path
) -> None:
    admin = services.identity.provision_local("admin")
    services.identity.create_project(admin, "churn")
    token = services.identity.create_user(admin, "sam", ["stakeholder"], "churn").token
    sam = services.identity.authenticate(token)
    with pytest.raises(PermissionDenied, match=r"run\.create"):
        services.tracking.create_run(sam, project="churn", experiment="e")
    other = open_services(url, str(tmp_path / "artifacts"))  # as a second server would
    try:
        other.roles.apply(other.identity.provision_local("admin"), DOC, "churn")
    finally:
        other.close()
    assert services.tracking.create_run(sam, project="churn", experiment="e").user == "sam"


def test_an_installation_document_a_projects_own_would_not_apply_on_is_refused(
    services: Services,
) -> None:
    """A project's document that changes an installation role keeps that role alive: dropping
    it from the installation is refused naming the project, and nothing changes."""
    admin = services.identity.provision_local("admin")
    services.identity.create_project(admin, "churn")
    services.roles.apply(admin, "roles:\n  auditor:\n    actions: [audit.read]\n")
    services.roles.apply(admin, "roles:\n  auditor:\n    add: [project.read]\n", "churn")
    with pytest.raises(Conflict, match=r"project 'churn'.*auditor") as info:
        services.roles.apply(admin, "")
    assert "relay roles apply FILE --project churn" in str(info.value)
    assert [d.version for d in services.roles.history(admin)] == [1]
    assert (
        services.roles.get(admin, "auditor", "churn").source == "installation, changed by project"
    )
    services.roles.apply(admin, "", "churn")  # the project's first, then the installation's
    services.roles.apply(admin, "")
    assert [r.name for r in services.roles.list_roles(admin, "churn")][-1] == "admin"
