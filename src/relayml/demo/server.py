"""The demo's model server: `relay serve` in a process of its own on 127.0.0.1, started by the
demo and stopped by it with SIGTERM (as an orchestrator stops a pod), also when the demo fails
or is interrupted, so no server outlives the demo."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import httpx

from relayml.errors import ServerUnavailable

READY_SECONDS = 120.0  # importing scikit-learn and loading the models on a busy laptop
STOP_SECONDS = 60.0  # SIGTERM answers what is in flight and writes the prediction log first


@dataclass
class ModelServer:
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    ready_seconds: float = 0.0

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def stop(self) -> int:
        """SIGTERM, then wait for the exit code (a kill only if it does not stop in time)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def relay_command() -> str:
    """The `relay` command of the environment the demo runs in (else the one on PATH): the demo
    starts the server as a user would."""
    beside = Path(sys.executable).with_name("relay")
    found = str(beside) if beside.is_file() else shutil.which("relay")
    if found is None:
        raise ServerUnavailable(
            "the demo starts the model server with the `relay` command, which is not installed "
            "here: pip install 'relayml[ml,serve]' (make demo does)"
        )
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def model_server(
    deployment: str,
    *,
    project: str,
    home: Path,
    token: str,
    server: str | None = None,
    poll_seconds: float = 0.5,
    segment_seconds: float = 1.0,
) -> Iterator[ModelServer]:
    """`relay serve DEPLOYMENT` as the user `token` authenticates, against the demo's store
    (`home`) or Relay `server`; yields once GET /readyz answers 200. It notices changes within
    `poll_seconds` and writes its prediction log every `segment_seconds` (short, so the demo
    reads them a moment later). Its output goes to `home`/serve-PORT.log."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("RELAY_SERVER_URL", "RELAY_PROJECT")}
    env.update(RELAY_HOME=str(home), RELAY_TOKEN=token)  # in the environment, not in `ps`
    cmd = [relay_command()]
    cmd += ["--server", server] if server else []
    cmd += ["serve", deployment, "--project", project, "--port", str(port)]
    cmd += ["--poll", str(poll_seconds), "--segment-seconds", str(segment_seconds)]
    cmd += ["--no-access-log"]
    home.mkdir(parents=True, exist_ok=True)
    log = home / f"serve-{port}.log"
    with _sigterm_unwinds():
        with open(log, "wb") as out:
            process = subprocess.Popen(
                cmd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
            )
        live = ModelServer(f"http://127.0.0.1:{port}", process, log)
        try:
            _wait_ready(live)
            yield live
        finally:
            live.stop()


def _wait_ready(live: ModelServer) -> None:
    started = time.monotonic()
    deadline = started + READY_SECONDS
    with httpx.Client(base_url=live.url, timeout=2.0) as client:
        while True:
            code = live.process.poll()
            if code is not None:
                raise ServerUnavailable(
                    f"relay serve exited with code {code} before it was ready; its output "
                    f"({live.log}) ends with:\n{_tail(live.log)}"
                )
            try:
                if client.get("/readyz").status_code == 200:
                    live.ready_seconds = time.monotonic() - started
                    return
            except httpx.TransportError:
                pass  # not listening yet
            if time.monotonic() > deadline:
                raise ServerUnavailable(
                    f"relay serve was not ready after {READY_SECONDS:.0f} s; its output "
                    f"({live.log}) ends with:\n{_tail(live.log)}"
                )
            time.sleep(0.1)


def _tail(log: Path, lines: int = 15) -> str:
    text = log.read_text(errors="replace").rstrip().splitlines()
    return "\n".join(text[-lines:]) or "(nothing)"


@contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """While the server runs, a SIGTERM to the demo unwinds it like Ctrl-C does (Python's default
    would end the demo on the spot and leave the server running)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def unwind(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, unwind)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
