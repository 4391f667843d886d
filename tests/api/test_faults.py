"""After a server error, the http client's next calls still work: the server keeps the
connection usable, and the client retries an idempotent call on a fresh one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from relayml.client.http import HttpBackend
from relayml.domain.tracking import MetricPoint
from relayml.errors import RelayError
from relayml.testing.server import ServerInfo, running_server


@pytest.fixture(scope="module")
def faulty_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerInfo]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RELAY_TEST_FAULT_ROUTE", "1")
        with running_server(tmp_path_factory.mktemp("faulty")) as info:
            yield info


def test_calls_after_a_500_succeed(faulty_server: ServerInfo, tmp_path: Path) -> None:
    backend = HttpBackend(faulty_server.url, faulty_server.admin_token)
    try:
        backend.identity.ensure_project("f")
        run = backend.tracking.create_run(project="f", experiment="e")
        for i in range(20):
            with pytest.raises(RelayError) as caught:
                backend.transport.call("GET", "/api/v1/_fault")
            assert caught.value.http_status == 500
            assert "a fault the test asked for" in caught.value.message
            # every kind of call, right after the error, on the connection it left
            if i % 4 == 0:
                assert backend.tracking.get_run(run.id).id == run.id
            elif i % 4 == 1:
                assert (
                    backend.tracking.log_batch(run.id, metrics=[MetricPoint("x", 1.0, i, 0)]) == 1
                )
            elif i % 4 == 2:
                assert backend.tracking.create_run(project="f", experiment="e").project == "f"
            else:
                assert backend.tracking.search_runs(project="f", limit=1).runs
        assert len(backend.tracking.metric_history(run.id, "x")) == 5
    finally:
        backend.close()
