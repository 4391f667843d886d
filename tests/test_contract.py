"""The backend contract suite on local+SQLite, local+PostgreSQL and http (a real server)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from relayml.sdk.session import connect
from relayml.testing.contract import ContractEnv
from relayml.testing.contract_artifacts import ArtifactContract
from relayml.testing.contract_audit import AuditContract
from relayml.testing.contract_datasets import DatasetContract
from relayml.testing.contract_deployments import DeploymentContract
from relayml.testing.contract_deployments_data import DeploymentDataContract
from relayml.testing.contract_identity import IdentityContract
from relayml.testing.contract_loops import LoopContract
from relayml.testing.contract_models import ModelContract
from relayml.testing.contract_monitors import MonitorContract
from relayml.testing.contract_notifications import NotificationContract
from relayml.testing.contract_pipelines import PipelineContract
from relayml.testing.contract_roles import RoleContract
from relayml.testing.contract_storage import StorageContract
from relayml.testing.contract_tracking import TrackingContract
from tests.conftest import _scratch_database, settings_for


@pytest.fixture(scope="module", params=["sqlite", "postgres", "http"])
def contract(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ContractEnv]:
    home = tmp_path_factory.mktemp(f"contract-{request.param}")
    if request.param == "http":
        from relayml.client.http import HttpBackend
        from relayml.testing.server import running_server

        with running_server(home) as server:
            env = ContractEnv(
                "http",
                HttpBackend(server.url, server.admin_token),
                lambda token: HttpBackend(server.url, token),
            )
            yield env
            for b in [env.admin, *env.opened]:
                b.close()
        return
    with contextlib.ExitStack() as stack:
        url = None
        if request.param == "postgres":  # a database of its own: other modules' servers write
            # audit events MACed with their own keys into the session's database
            base = request.getfixturevalue("pg_database")
            url = stack.enter_context(_scratch_database(base, "relay_contract"))
        yield from _embedded(request.param, home, url)


def _embedded(kind: str, home: Path, url: str | None) -> Iterator[ContractEnv]:
    settings = settings_for(home, url)
    admin = connect(settings=settings).backend
    env = ContractEnv(kind, admin, lambda token: connect(settings=settings, token=token).backend)
    yield env
    for b in [env.admin, *env.opened]:
        b.close()


class TestBackendContract(
    IdentityContract,
    TrackingContract,
    ArtifactContract,
    AuditContract,
    StorageContract,
    DatasetContract,
    PipelineContract,
    NotificationContract,
    ModelContract,
    DeploymentContract,
    DeploymentDataContract,
    RoleContract,
    LoopContract,
    MonitorContract,
):
    """Every area's contract (`relayml.testing.contract_<area>`), on each backend."""

    @pytest.fixture(autouse=True)
    def _close_what_the_test_opened(self, contract: ContractEnv) -> Iterator[None]:
        """The users a test connects as are its own: closed after it, so the module's
        connections to PostgreSQL do not grow with every test (each embedded backend keeps a
        pool of its own, and the server allows 100)."""
        yield
        while contract.opened:
            contract.opened.pop().close()


def test_contract_covers_every_backend_method() -> None:
    from relayml.client.base import AREAS
    from relayml.client.ops import operations

    testing = Path(__file__).parent.parent / "src/relayml/testing"

    def contract_text(area: str) -> str:
        """An area's contract: contract_<area>.py and any contract_<area>_*.py beside it."""
        files = [testing / f"contract_{area}.py", *testing.glob(f"contract_{area}_*.py")]
        return "".join(f.read_text() for f in files)

    missing = [
        f"{area}.{op}"
        for area, api in AREAS.items()
        for op in operations(api)
        if f".{area}.{op}(" not in contract_text(area)
    ]
    assert missing == [], f"no contract_<area>.py or contract_<area>_*.py calls {missing}"
