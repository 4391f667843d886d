"""The demo's model server is started and stopped by the demo: never left running when the
demo's code fails, when the demo gets SIGTERM, or when the server cannot start."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

from relayml.client.connect import open_backend
from relayml.demo.server import model_server
from relayml.domain.identity import DEFAULT_PROJECT
from relayml.errors import ServerUnavailable
from relayml.flavors import save_model
from tests.conftest import settings_for
from tests.processes import no_process_outlives

P = DEFAULT_PROJECT
ROW = {"mean_radius": 14.0, "mean_texture": 19.0, "mean_perimeter": 92.0, "mean_area": 650.0}


@dataclass(frozen=True)
class World:
    home: Path
    token: str  # an ML engineer's, as the demo's server runs


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    home = tmp_path_factory.mktemp("demo-server") / ".relay"
    backend = open_backend(settings_for(home))
    try:
        x, y = load_breast_cancer(return_X_y=True, as_frame=True)
        x = x.iloc[:, :4].rename(columns=lambda c: c.replace(" ", "_"))
        path = home.parent / "model.skops"
        saved = save_model(LogisticRegression(max_iter=500).fit(x, y), path, input_example=x[:5])
        assert saved.signature is not None
        backend.models.register(
            P, "bc", path, flavor=saved.flavor.value, environment=saved.environment.to_dict(),
            signature=saved.signature.to_dict(),
        )  # fmt: skip
        backend.deployments.create(P, "bc-api", "bc@1")
        token = backend.identity.create_user("mia", ["ml_engineer"], P).token
        yield World(home, token)
    finally:
        backend.close()


def alive(pid: int) -> bool:
    """Running (a zombie has finished)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_an_error_in_the_demo_stops_the_server_with_sigterm(world: World) -> None:
    with (
        no_process_outlives(),
        pytest.raises(RuntimeError, match="the demo failed"),
        model_server("bc-api", project=P, home=world.home, token=world.token) as live,
    ):
        answer = httpx.post(f"{live.url}/predict", json=ROW)
        assert answer.status_code == 200 and answer.headers["relay-model-version"] == "1"
        raise RuntimeError("the demo failed")
    # stopped by SIGTERM, gracefully: relay serve exits 0 once its log is written
    assert live.process.returncode == 0
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{live.url}/healthz", timeout=2)


def test_sigterm_to_the_demo_stops_its_server(world: World) -> None:
    script = textwrap.dedent(
        """
        import sys, time
        from pathlib import Path
        from relayml.demo.server import model_server

        with model_server("bc-api", project="default", home=Path(sys.argv[1]),
                          token=sys.argv[2]) as live:
            print(live.process.pid, flush=True)
            time.sleep(600)
        """
    )
    with no_process_outlives():
        demo = subprocess.Popen(
            [sys.executable, "-c", script, str(world.home), world.token],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert demo.stdout is not None
        server_pid = int(demo.stdout.readline())  # the server is ready
        assert alive(server_pid)
        demo.send_signal(signal.SIGTERM)
        assert demo.wait(90) == 128 + signal.SIGTERM  # unwound, not killed on the spot
        demo.stdout.close()
        assert not alive(server_pid)


def test_a_server_that_cannot_start_says_why_and_leaves_nothing(world: World) -> None:
    with (
        no_process_outlives(),
        pytest.raises(ServerUnavailable) as caught,
        model_server("no-such-api", project=P, home=world.home, token=world.token),
    ):
        pytest.fail("a server for a deployment that does not exist became ready")
    message = caught.value.message
    assert "exited with code 5 before it was ready" in message  # NotFound's exit code
    assert "no-such-api" in message  # the server's own reason, from its output
