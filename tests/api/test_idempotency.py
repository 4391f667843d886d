"""Request ids (issue 9 item 4): a non-idempotent call whose answer was lost is sent again with
the same Idempotency-Key and gets the first answer; the work is never done twice."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from relayml.client.http import HttpBackend
from relayml.testing.server import ServerInfo, running_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerInfo]:
    with running_server(tmp_path_factory.mktemp("idem")) as info:
        yield info


def _client(server: ServerInfo, token: str | None = None) -> httpx.Client:
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token or server.admin_token}"}
    )


def _runs(server: ServerInfo, project: str) -> list[str]:
    with _client(server) as c:
        return [r["id"] for r in c.get(f"/api/v1/projects/{project}/runs").json()["runs"]]


def test_the_same_key_gets_the_same_answer_and_does_the_work_once(server: ServerInfo) -> None:
    with _client(server) as c:
        c.put("/api/v1/projects/idem-a")
        url = "/api/v1/projects/idem-a/runs"
        key = {"Idempotency-Key": "k-0123456789abcdef"}
        first = c.post(url, json={"experiment": "e"}, headers=key)
        again = c.post(url, json={"experiment": "e"}, headers=key)
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json() and again.headers["Idempotency-Replayed"] == "true"
        assert "Idempotency-Replayed" not in first.headers
        assert _runs(server, "idem-a") == [first.json()["id"]]
        # the same key on another request is refused, not replayed
        other = c.post("/api/v1/projects/idem-a/runs/x/end", json={}, headers=key)
        assert other.status_code in (404, 422)
        reused = c.post(f"/api/v1/runs/{first.json()['id']}/end", json={}, headers=key)
        assert reused.status_code == 422 and reused.json()["error"]["details"] == {
            "idempotency": "reused"
        }
        bad = c.post(url, json={"experiment": "e"}, headers={"Idempotency-Key": "short"})
        assert bad.status_code == 400 and "Idempotency-Key" in bad.json()["error"]["message"]
        # without a key, each call does the work
        c.post(url, json={"experiment": "e"})
        assert len(_runs(server, "idem-a")) == 2


def test_a_repeat_sent_the_moment_the_answer_arrives_gets_it(server: ServerInfo) -> None:
    """The answer is recorded before the client sees it: a repeat sent at once is replayed,
    never told the first attempt is still running (or worse)."""
    with _client(server) as c:
        c.put("/api/v1/projects/idem-d")
        for i in range(100):
            key = {"Idempotency-Key": f"at-once-{i:04d}"}
            first = c.post("/api/v1/projects/idem-d/runs", json={"experiment": "e"}, headers=key)
            again = c.post("/api/v1/projects/idem-d/runs", json={"experiment": "e"}, headers=key)
            assert (first.status_code, again.status_code) == (201, 201), again.text
            assert again.json()["id"] == first.json()["id"]
    assert len(_runs(server, "idem-d")) == 100


def test_keys_belong_to_their_caller(server: ServerInfo) -> None:
    with _client(server) as c:
        c.put("/api/v1/projects/idem-b")
        token = c.post(
            "/api/v1/users",
            json={"name": "idem-ann", "roles": ["data_scientist"], "project": "idem-b"},
        ).json()["token"]
        key = {"Idempotency-Key": "shared-key-42"}
        mine = c.post("/api/v1/projects/idem-b/runs", json={"experiment": "e"}, headers=key)
    with _client(server, token) as ann:
        theirs = ann.post("/api/v1/projects/idem-b/runs", json={"experiment": "e"}, headers=key)
    assert theirs.status_code == 201 and theirs.json()["id"] != mine.json()["id"]
    assert theirs.json()["user"] == "idem-ann"


def test_a_refused_request_is_kept_and_replayed(server: ServerInfo) -> None:
    """A refused request (4xx) is kept as it was; a retry after fixing nothing gets it again."""
    with _client(server) as c:
        key = {"Idempotency-Key": "refused-once-1"}
        first = c.post("/api/v1/projects/no-such/runs", json={"experiment": "e"}, headers=key)
        again = c.post("/api/v1/projects/no-such/runs", json={"experiment": "e"}, headers=key)
        assert first.status_code == again.status_code == 404
        assert again.json() == first.json()


class DropFirstAnswer:
    """A loopback TCP proxy that forwards everything to the server but, the first time a POST's
    answer starts coming back, closes the client's connection instead: the server did the
    work, the client never heard."""

    def __init__(self, target: str) -> None:
        host, port = target.removeprefix("http://").split(":")
        self.target = (host, int(port))
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.dropped = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._pipe, args=(client,), daemon=True).start()

    def _pipe(self, client: socket.socket) -> None:
        upstream = socket.create_connection(self.target)
        post_sent = threading.Event()

        def up() -> None:
            try:
                while data := client.recv(65536):
                    if data.startswith(b"POST "):
                        post_sent.set()
                    upstream.sendall(data)
            except OSError:
                pass

        threading.Thread(target=up, daemon=True).start()
        try:
            while data := upstream.recv(65536):
                if post_sent.is_set() and self.dropped == 0:
                    self.dropped += 1
                    break
                client.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (client, upstream):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)  # wakes the other thread's recv now
                sock.close()

    def close(self) -> None:
        self.sock.close()


def test_a_lost_answer_is_retried_without_doing_the_work_twice(server: ServerInfo) -> None:
    with _client(server) as c:
        c.put("/api/v1/projects/idem-c")
    proxy = DropFirstAnswer(server.url)
    through = HttpBackend(proxy.url, server.admin_token)
    try:
        run = through.tracking.create_run(project="idem-c", experiment="e", params={"lr": 0.1})
        assert proxy.dropped == 1  # the first answer was lost; the retry got the kept one
        assert _runs(server, "idem-c") == [run.id]
        assert through.tracking.get_run(run.id).params == {"lr": "0.1"}
    finally:
        through.close()
        proxy.close()
