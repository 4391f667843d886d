"""A real Relay server in a subprocess, for tests and benchmarks: `running_server(home)`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import httpx

from relayml.config import Settings

STARTUP_TIMEOUT = 60.0  # a loaded CI machine can take a while to import and migrate


@dataclass(frozen=True)
class ServerInfo:
    url: str
    admin_token: str
    admin_user: str


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def bootstrap_admin(settings: Settings, user: str = "admin") -> str:
    """Create `user` as a platform admin directly through the services; return a token."""
    from relayml.services import open_services

    services = open_services(
        settings.database_url,
        settings.artifact_uri,
        audit_key_file=settings.audit_key_path,
        audit_key=settings.audit_key,
        audit_checkpoints=settings.audit_checkpoint_target,
        audit_checkpoint_every=settings.audit_checkpoint_every,
    )
    try:
        admin = services.identity.provision_local(user)
        return services.identity.issue_token(admin, user).token
    finally:
        services.close()


@contextmanager
def running_server(
    home: Path,
    database_url: str | None = None,
    artifact_uri: str | None = None,
    env: dict[str, str] | None = None,
    admin_token: str | None = None,
) -> Iterator[ServerInfo]:
    """Start `python -m relayml.api` on a free loopback port with its stores under `home`;
    yield its URL and an admin token; stop it on exit. `env` adds RELAY_* settings; give
    `admin_token` to start a second server on stores that already have their admin."""
    home = Path(home).resolve()
    home.mkdir(parents=True, exist_ok=True)
    db = database_url or f"sqlite:///{home / 'relay.db'}"
    artifacts = artifact_uri or str(home / "artifacts")
    # The server's settings as it will read them (same environment, same home), so both use
    # the same audit key.
    token = admin_token or bootstrap_admin(
        replace(Settings.from_env(home), database_url=db, artifact_uri=artifacts)
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    extra = env or {}
    env = {k: v for k, v in os.environ.items() if k not in ("RELAY_SERVER_URL", "RELAY_TOKEN")}
    env.update(RELAY_HOME=str(home), RELAY_DATABASE_URL=db, RELAY_ARTIFACT_URI=artifacts)
    env.update(extra)
    log_path = home / f"server-{port}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "relayml.api", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_healthy(proc, url, log_path)
        yield ServerInfo(url=url, admin_token=token, admin_user="admin")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_healthy(proc: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    with httpx.Client(timeout=2.0) as client:
        while True:
            code = proc.poll()
            if code is not None:
                output = log_path.read_text(errors="replace")
                raise RuntimeError(f"the Relay server exited with code {code}:\n{output}")
            try:
                if client.get(f"{url}/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                output = log_path.read_text(errors="replace")
                raise RuntimeError(
                    f"the Relay server at {url} was not healthy after {STARTUP_TIMEOUT:.0f} s:\n"
                    f"{output}"
                )
            time.sleep(0.05)
