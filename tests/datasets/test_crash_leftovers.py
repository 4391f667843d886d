"""kill -9 of a publishing client and of a server mid-upload: nothing partial is visible, and
`relay gc` lists exactly what they left behind (never a referenced blob), then removes it,
and the audit trail still verifies."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from relayml.config import Settings
from relayml.testing.server import bootstrap_admin, free_port
from tests.cli.conftest import Relay

_PUBLISHER = """
import sys, time
from pathlib import Path
import pyarrow as pa
import relayml as relay
from relayml.sdk.session import current

marker, where = Path(sys.argv[1]), sys.argv[2]
relay.init(project="p")
schema = pa.schema([("x", pa.int64())])

def batches():
    for i in range(1_000_000):
        if i == 20 and where == "normalizing":
            marker.touch()
            time.sleep(600)
        yield pa.record_batch([pa.array(range(i * 1000, (i + 1) * 1000))], schema=schema)
        if i == 50:
            return

if where == "publishing":  # pause between the upload and the record that refers to it
    data = current().backend.services.datasets
    def stall(*args, **kwargs):
        marker.touch()
        time.sleep(600)
    data.publish = stall
relay.datasets.publish("big", pa.RecordBatchReader.from_batches(schema, batches()))
"""


def _wait_for(what: str, check: Callable[[], bool], proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while not check():
        assert proc.poll() is None, f"the process exited before {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.fixture
def relay(tmp_path: Path) -> Relay:
    r = Relay(tmp_path / ".relay")
    r.env["TMPDIR"] = str(tmp_path / "tmp")  # scratch directories of these processes only
    (tmp_path / "tmp").mkdir()
    return r


def _kill_publisher(relay: Relay, tmp_path: Path, where: str) -> None:
    marker = tmp_path / f"{where}.marker"
    proc = subprocess.Popen(
        [sys.executable, "-c", _PUBLISHER, str(marker), where],
        cwd=relay.home.parent,
        env=relay.env,
    )
    try:
        _wait_for(f"the publisher to reach {where}", marker.exists, proc)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()


def _leftovers(relay: Relay, *args: str) -> list[tuple[str, str]]:
    gc = relay("gc", *args, "--grace", "1ms", "--json")
    assert gc.code == 0, gc.err
    return [(i["kind"], i["name"]) for i in gc.json()["leftovers"]]


def test_killed_publishers_leave_nothing_visible_and_gc_removes_what_they_left(
    relay: Relay, tmp_path: Path
) -> None:
    base = tmp_path / "base.csv"
    base.write_text("x\n1\n2\n")
    assert relay("projects", "create", "p").code == 0
    assert relay("datasets", "publish", "base", str(base), "-p", "p").code == 0
    shown = relay("datasets", "show", "base", "-p", "p", "--json").json()
    kept = {shown["blob"], shown["sketch_blob"]}  # what the published version refers to

    _kill_publisher(relay, tmp_path, "normalizing")
    _kill_publisher(relay, tmp_path, "publishing")

    shown = relay("datasets", "versions", "big", "-p", "p", "--json")
    assert shown.code == 5 or shown.json() == [], shown.out  # no partial dataset
    blobs = {p.parent.name + p.name for p in (relay.home / "artifacts" / "sha256").glob("*/*")}
    scratch = sorted(str(p) for p in (tmp_path / "tmp").glob("relayml-*/publish-*"))
    assert len(scratch) == 2  # kill -9 runs no cleanup
    assert kept <= blobs
    found = _leftovers(relay, "--dry-run")
    expected = [("blob", b) for b in sorted(blobs - kept)] + [("scratch", s) for s in scratch]
    assert found == expected and len(blobs - kept) == 1, (found, expected)

    assert relay("gc", "--apply", "--grace", "1ms").code == 0
    assert _leftovers(relay) == []
    assert not list((tmp_path / "tmp").glob("relayml-*/publish-*"))
    assert relay("datasets", "show", "base", "-p", "p").code == 0  # the referenced blob stays
    verify = relay("audit", "verify")
    assert verify.code == 0, verify.err
    events = relay("audit", "log", "--action", "storage.gc", "--json").json()
    assert len(events) == 1


@pytest.fixture
def server(relay: Relay) -> Iterator[tuple[subprocess.Popen[bytes], str, str]]:
    home = relay.home
    settings = replace(Settings.from_env(home), database_url=f"sqlite:///{home / 'relay.db'}")
    token = bootstrap_admin(replace(settings, artifact_uri=str(home / "artifacts")))
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "relayml.cli.app", "server", "--port", str(port)],
        env=relay.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        _wait_for("the server to start", healthy, proc)
        yield proc, url, token
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def test_server_killed_mid_upload_leaves_only_an_upload_gc_removes(
    relay: Relay, server: tuple[subprocess.Popen[bytes], str, str]
) -> None:
    proc, url, token = server
    auth = {"Authorization": f"Bearer {token}"}
    assert httpx.put(f"{url}/api/v1/projects/p", headers=auth).status_code in (200, 201)
    made = httpx.post(f"{url}/api/v1/projects/p/runs", headers=auth, json={"experiment": "e"})
    run_id = made.json()["id"]
    gate = threading.Event()

    def body() -> Iterator[bytes]:
        yield b"x" * (1 << 20)
        yield b"x" * (1 << 20)
        gate.wait(60)
        yield b"y"

    def upload() -> None:
        with contextlib.suppress(httpx.HTTPError):  # the server dies under it
            httpx.put(
                f"{url}/api/v1/runs/{run_id}/artifacts/model.bin",
                headers=auth,
                content=body(),
                timeout=60,
            )

    uploader = threading.Thread(target=upload)
    uploader.start()
    incoming = relay.home / "artifacts" / "incoming"

    def half_written() -> bool:
        return any(p.stat().st_size >= 1 << 20 for p in incoming.glob("*"))

    try:
        _wait_for("the upload to reach the server's disk", half_written, proc)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        gate.set()
        uploader.join()
    left = [p.name for p in incoming.glob("*")]
    assert len(left) == 1

    arts = relay("artifacts", "ls", run_id, "--json", RELAY_TOKEN=token)
    assert arts.code == 0 and arts.json() == [], arts.out  # nothing partial is visible
    gc = relay("gc", "--dry-run", "--grace", "1ms", "--json", RELAY_TOKEN=token)
    assert gc.code == 0, gc.err
    assert [(i["kind"], i["name"]) for i in gc.json()["leftovers"]] == [("upload", left[0])]
    assert relay("gc", "--apply", "--grace", "1ms", RELAY_TOKEN=token).code == 0
    assert list(incoming.glob("*")) == []
    verify = relay("audit", "verify", RELAY_TOKEN=token)
    assert verify.code == 0, verify.err
