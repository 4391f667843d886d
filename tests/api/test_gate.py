"""Before a route reads a body: an unauthenticated request is refused without the body being
read, and a JSON body over RELAY_MAX_JSON_BYTES is refused (413) whether or not it declares its
length; uploads still stream past the cap. A real server, raw sockets: the client sends only a
first slice of the body, so an answer proves the rest was never waited for."""

from __future__ import annotations

import hashlib
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import orjson
import pytest

from relayml import wire
from relayml.testing.server import ServerInfo, running_server

CAP = 1_000_000


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerInfo]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RELAY_MAX_JSON_BYTES", str(CAP))
        with running_server(tmp_path_factory.mktemp("gate")) as info:
            yield info


def send_partly(
    info: ServerInfo, head: str, first: bytes, rest: int = 0, chunked: bool = False
) -> tuple[int, dict[str, object]]:
    """Send `head`, then `first` of the body, then up to `rest` more bytes while the server has
    not answered; return the answer's status and JSON body (10 s or it failed)."""
    url = urlsplit(info.url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(head.encode() + _frame(first, chunked))
        sent = 0
        sock.setblocking(False)
        while sent < rest:
            try:
                if sock.recv(1, socket.MSG_PEEK):
                    break  # the server answered: stop sending
            except BlockingIOError:
                pass
            except OSError:
                break
            try:
                # never past `rest`: with a declared length, bytes beyond it would be read as
                # a second request (and answered), which is the client's fault, not the gate's
                sent += sock.send(_frame(b"x" * min(65536, rest - sent), chunked))
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                break
        sock.settimeout(10)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, f"the server closed without an answer: {data!r}"
            data += chunk
        header, _, body = data.partition(b"\r\n\r\n")
        length = int(next(line.split(b":")[1] for line in header.split(b"\r\n")
                          if line.lower().startswith(b"content-length")))  # fmt: skip
        while len(body) < length:
            body += sock.recv(65536)
        return int(header.split(b" ")[1]), orjson.loads(body)


def _frame(data: bytes, chunked: bool) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n" if chunked else data


def request_head(method: str, path: str, length: int | None, token: str | None = None) -> str:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    lines.append(
        f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    )
    if token:
        lines.append(f"Authorization: Bearer {token}")
    return "\r\n".join(lines) + "\r\n\r\n"


def test_an_anonymous_100_mb_body_is_refused_before_it_is_read(capped: ServerInfo) -> None:
    head = request_head("POST", "/api/v1/projects", 100 * 1024 * 1024)
    status, body = send_partly(capped, head, b'{"name": "' + b"x" * 65536)
    assert status == 401
    assert body["error"]["code"] == "unauthenticated"  # type: ignore[index]
    head = request_head("POST", "/api/v1/projects", 100 * 1024 * 1024, token="rly_wrong")
    status, _ = send_partly(capped, head, b"{")
    assert status == 401


@pytest.fixture(scope="module")
def run_id(capped: ServerInfo) -> str:
    headers = {"Authorization": f"Bearer {capped.admin_token}"}
    with httpx.Client(base_url=capped.url, headers=headers, timeout=30) as c:
        project = f"p-{uuid.uuid4().hex[:8]}"
        assert c.post("/api/v1/projects", json={"name": project}).status_code == 201
        run: str = c.post(f"/api/v1/projects/{project}/runs", json={"experiment": "e"}).json()["id"]
        return run


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_an_oversized_json_body_is_413(capped: ServerInfo, run_id: str, declared: bool) -> None:
    body = b'{"params": {"k": "' + b"x" * (2 * CAP) + b'"}}'
    length = len(body) if declared else None
    head = request_head("POST", f"/api/v1/runs/{run_id}/batch", length, capped.admin_token)
    status, answer = send_partly(
        capped, head, body[:1000], rest=len(body) - 1000, chunked=not declared
    )
    assert status == 413
    error = answer["error"]
    assert error["code"] == "too_large"  # type: ignore[index]
    assert "RELAY_MAX_JSON_BYTES" in error["message"]  # type: ignore[index]


def test_json_under_the_cap_and_uploads_over_it_still_work(
    capped: ServerInfo, run_id: str, tmp_path: Path
) -> None:
    headers = {"Authorization": f"Bearer {capped.admin_token}"}
    with httpx.Client(base_url=capped.url, headers=headers, timeout=60) as c:
        points = [["loss", 0.5, i, 1700000000000] for i in range(20_000)]
        assert CAP // 2 < len(orjson.dumps({"metrics": points})) < CAP
        r = c.post(f"/api/v1/runs/{run_id}/batch", json={"metrics": points})
        assert r.status_code == 200, r.text
        blob = os.urandom(3 * CAP)
        r = c.put(f"/api/v1/runs/{run_id}/artifacts/big.bin", content=blob,
                  headers={wire.DIGEST_HEADER: hashlib.sha256(blob).hexdigest()})  # fmt: skip
        assert r.status_code == 201, r.text
        assert c.get(f"/api/v1/runs/{run_id}/artifacts/big.bin").content == blob
