"""Webhook dispatch: deliveries claimed with a lease and retried from the database, on SQLite and
PostgreSQL, against a real receiver on 127.0.0.1; a sender killed with SIGKILL mid-attempt; two
dispatchers sharing one database; a server whose API call does not wait for a dead receiver,
and which finishes the attempt under way when it is stopped with SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from relayml.client.http import HttpBackend
from relayml.domain.identity import Principal
from relayml.domain.notifications import DeliveryStatus, Event, EventKind
from relayml.domain.pipelines import StepSpec
from relayml.notifications import delivery as policy
from relayml.services import Services, open_services
from relayml.services.dispatcher import Dispatcher
from relayml.testing.server import running_server

from .conftest import OLGA, SECRET_KEY, Receiver, eventually

ADMIN = Principal("admin")
STEPS = [StepSpec("extract", ())]


def _open(url: str, tmp_path: Path) -> Services:
    svc = open_services(url, (tmp_path / "artifacts").as_uri(), secret_key=SECRET_KEY)
    svc.notifications.attempts = 4
    svc.notifications.backoff = 0.01
    return svc


@pytest.fixture
def shared(store_url: str, tmp_path: Path) -> Iterator[Services]:
    """Services on a fresh SQLite or PostgreSQL store, with project shop and its mlops user."""
    svc = _open(store_url, tmp_path)
    admin = svc.identity.provision_local("admin")
    svc.identity.ensure_project(admin, "shop")
    svc.identity.create_user(admin, "olga", ["mlops_engineer"], "shop")
    svc.pipelines.register(ADMIN, "shop", "nightly", module="m:f", steps=STEPS)
    yield svc
    svc.close()


def _fail_a_run(svc: Services) -> None:
    run = svc.pipelines.start_run(ADMIN, "shop", "nightly", steps=STEPS)
    svc.pipelines.finish_run(ADMIN, run.id, "failed", "extract: boom")


# A process that raises an event and is killed while its first attempt waits for the receiver.
CHILD = """
import sys
from relayml.domain.identity import Principal
from relayml.services import open_services

url, artifacts, run_id, lease, key = sys.argv[1:6]
svc = open_services(url, artifacts, secret_key=key)
svc.notifications.lease = float(lease)
svc.notifications.first_timeout = 60.0
svc.pipelines.finish_run(Principal("admin"), run_id, "failed", "extract: boom")
print("not killed", flush=True)
"""


def test_a_sender_killed_mid_attempt_leaves_a_delivery_the_next_dispatcher_sends(
    shared: Services, store_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    shared.notifications.add_webhook(OLGA, "shop", receiver.url)
    run = shared.pipelines.start_run(ADMIN, "shop", "nightly", steps=STEPS)
    receiver.hold_first = 1  # the first request is never answered: its sender dies meanwhile
    lease = 3.0
    args = [store_url, (tmp_path / "artifacts").as_uri(), run.id, str(lease), SECRET_KEY]
    child = subprocess.Popen([sys.executable, "-c", CHILD, *args], stdout=subprocess.PIPE)
    try:
        assert receiver.arrived.wait(60), "the child never made its attempt"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        out, _ = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL and out == b""
    receiver.release.set()

    (left,) = shared.notifications.deliveries(OLGA, "shop")
    assert left.status is DeliveryStatus.PENDING and left.attempts == 1
    assert left.delivered_at is None
    assert shared.notifications.deliver_due() == []  # its lease holds: nobody retries yet

    with Dispatcher(shared.notifications, poll=0.05):  # the next process's dispatcher
        eventually(lambda: _delivered(shared))
    (done,) = shared.notifications.deliveries(OLGA, "shop")
    assert done.status is DeliveryStatus.DELIVERED and done.attempts == 2
    assert receiver.attempts() == [(left.id, 1), (left.id, 2)]  # same id: receivers dedupe


def test_two_dispatchers_on_one_database_never_make_one_attempt_twice(
    shared: Services, store_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    shared.notifications.add_webhook(OLGA, "shop", receiver.url)
    receiver.fail_first = 15  # some deliveries are retried, by whichever dispatcher is free
    other = _open(store_url, tmp_path)  # a second server process's services, same database
    try:
        for _ in range(30):
            with shared.store.write() as tx:  # recorded without dispatch: both must find them
                shared.notifications.enqueue(tx, _event())
        one = Dispatcher(shared.notifications, workers=3, poll=0.02)
        two = Dispatcher(other.notifications, workers=3, poll=0.02)
        with one, two:
            eventually(
                lambda: all(
                    d.status is DeliveryStatus.DELIVERED
                    for d in shared.notifications.deliveries(OLGA, "shop")
                ),
                within=60,
            )
    finally:
        other.close()
    made = receiver.attempts()
    repeated = [pair for pair, n in Counter(made).items() if n > 1]
    assert repeated == []
    found = shared.notifications.deliveries(OLGA, "shop")
    assert len(found) == 30
    for d in found:  # attempts 1..n, each once, the last one the delivery
        assert sorted(n for i, n in made if i == d.id) == list(range(1, d.attempts + 1))
    assert len(made) == 30 + 15


def _delivered(svc: Services) -> bool:
    return all(d.delivered_at for d in svc.notifications.deliveries(OLGA, "shop"))


def _event() -> Event:
    return Event(
        EventKind.PIPELINE_RUN_FAILED, "shop", "pipeline:shop/nightly", {"run_id": "r"},
        datetime.now(UTC), text="nightly failed",
    )  # fmt: skip


def test_an_embedded_caller_waits_one_short_attempt_and_leaves_the_retries(
    shared: Services, receiver: Receiver
) -> None:
    shared.notifications.add_webhook(OLGA, "shop", receiver.url)
    shared.notifications.first_timeout = 0.2
    receiver.hold_first = 1  # answers nothing in time
    _fail_a_run(shared)  # returns after the one short attempt
    (d,) = shared.notifications.deliveries(OLGA, "shop")
    assert d.status is DeliveryStatus.PENDING and d.attempts == 1
    assert d.last_error is not None and "Timeout" in d.last_error
    assert d.next_attempt_at is not None
    receiver.release.set()
    eventually(lambda: bool(shared.notifications.deliver_due()))
    (d,) = shared.notifications.deliveries(OLGA, "shop")
    assert d.status is DeliveryStatus.DELIVERED and d.attempts == 2


def test_a_server_answers_at_once_and_on_sigterm_finishes_the_attempt_under_way(
    tmp_path: Path, receiver: Receiver
) -> None:
    receiver.hold_first = 100  # accepts the connection, reads the request, never answers
    home = tmp_path / "server"
    with running_server(home) as info:
        backend = HttpBackend(info.url, info.admin_token)
        try:
            backend.identity.ensure_project("shop")
            backend.notifications.add_webhook("shop", receiver.url)
            backend.pipelines.register("shop", "nightly", module="m:f", steps=STEPS)
            run = backend.pipelines.start_run("shop", "nightly", steps=STEPS)
            started = time.monotonic()
            backend.pipelines.finish_run(run.id, "failed", "extract: boom")
            took = time.monotonic() - started
            # Before: the call POSTed in its own thread, 4 attempts of up to 5 s each and the
            # backoff between them (23.5 s). Now it does not wait for even one attempt.
            assert took < policy.TIMEOUT
            assert receiver.arrived.wait(30)  # the dispatcher made the attempt meanwhile
            (d,) = backend.notifications.deliveries("shop")
            assert d.status is DeliveryStatus.PENDING and d.delivered_at is None
        finally:
            backend.close()
        # Leaving the block sends SIGTERM while the attempt waits; the receiver answers a
        # second later, and the server records the answer before it exits.
        threading.Timer(1.0, receiver.release.set).start()
    after = open_services(f"sqlite:///{home / 'relay.db'}", (home / "artifacts").as_uri())
    try:
        with after.store.read() as tx:
            done = tx.notifications.get_delivery(d.id)
    finally:
        after.close()
    assert done is not None and done.status is DeliveryStatus.DELIVERED and done.attempts == 1
