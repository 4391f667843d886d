"""The backend contract suite on local+SQLite, local+PostgreSQL and http (a real server)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from relayml.sdk.session import connect
from relayml.testing.contract import BackendContract, ContractEnv
from relayml.testing.contract_datasets import DatasetContract
from relayml.testing.contract_identity import IdentityContract
from relayml.testing.contract_pipelines import PipelineContract
from relayml.testing.contract_webhooks import WebhookContract
from tests.conftest import settings_for


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
    url = request.getfixturevalue("pg_database") if request.param == "postgres" else None
    settings = settings_for(home, url)
    admin = connect(settings=settings).backend
    env = ContractEnv(
        request.param, admin, lambda token: connect(settings=settings, token=token).backend
    )
    yield env
    for b in [env.admin, *env.opened]:
        b.close()


class TestBackendContract(
    BackendContract, IdentityContract, DatasetContract, PipelineContract, WebhookContract
):
    pass


def test_contract_covers_every_backend_method() -> None:
    from relayml.client.base import Backend

    methods = {n for n in vars(Backend) if not n.startswith("_")} - {"user", "kind", "close"}
    testing = Path(__file__).parent.parent / "src/relayml/testing"
    text = "".join(p.read_text() for p in testing.glob("contract*.py"))
    missing = sorted(m for m in methods if f".{m}(" not in text)
    assert missing == [], f"the contract suite never calls {missing}"
