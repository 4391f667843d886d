"""A real HTTP receiver on 127.0.0.1 for webhook tests, and services on a fresh SQLite store."""

from __future__ import annotations

import hashlib
import hmac
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from relayml.domain.identity import Principal
from relayml.services import Services, open_services


@dataclass
class Receiver:
    url: str
    fail_first: int = 0  # answer 503 to this many requests first
    hold_first: int = 0  # keep this many requests unanswered until `release` is set
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    arrived: threading.Event = field(default_factory=threading.Event)

    def attempts(self) -> list[tuple[str, int]]:
        """(Relay-Delivery, Relay-Attempt) of every request received, in order."""
        return [(h["relay-delivery"], int(h["relay-attempt"])) for h, _ in self.requests]

    def signature_ok(self, secret: str, index: int = -1) -> bool:
        """Check a request's Relay-Signature by hand (HMAC-SHA256 of "<t>.<body>")."""
        headers, body = self.requests[index]
        parts = dict(p.split("=", 1) for p in headers["relay-signature"].split(","))
        mac = hmac.new(secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256)
        return hmac.compare_digest(mac.hexdigest(), parts["v1"])


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
            state.arrived.set()
            if state.hold_first > 0:
                state.hold_first -= 1
                state.release.wait(60)
            code = 503 if state.fail_first > 0 else 204
            state.fail_first -= 1
            self.send_response(code)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/relay"
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def dead_url() -> str:
    """A loopback URL nothing listens on (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/relay"


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    svc = open_services(
        f"sqlite:///{tmp_path / 'relay.db'}",
        (tmp_path / "artifacts").as_uri(),
        secret_key=SECRET_KEY,
    )
    svc.notifications.attempts = 4
    svc.notifications.backoff = 0.01  # keep the retries quick; the count is what is tested
    admin = svc.identity.provision_local("admin")
    svc.identity.ensure_project(admin, "shop")
    svc.identity.create_user(admin, "olga", ["mlops_engineer"], "shop")
    svc.identity.create_user(admin, "sam", ["data_scientist"], "shop")
    yield svc
    svc.close()


def eventually(check: Callable[[], bool], within: float = 20.0) -> None:
    """Wait until `check()` holds (a dispatcher in another thread or process sends)."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not so after {within:g} s")
        time.sleep(0.02)


def drain(services: Services, rounds: int = 200) -> None:
    """Make due attempts until no delivery is pending (the retries' backoff is 10 ms here)."""
    for _ in range(rounds):
        services.notifications.deliver_due()
        if services.notifications.next_due() is None:
            return
        time.sleep(0.01)
    raise AssertionError("deliveries still pending after draining")


SECRET_KEY = "test-key-" + "0" * 32  # seals webhook secrets (RELAY_SECRET_KEY in production)
OLGA = Principal("olga")
SAM = Principal("sam")
