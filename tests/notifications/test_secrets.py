"""Webhook signing secrets at rest: sealed with the server key (AES-256-GCM; the table read
directly, on SQLite and PostgreSQL), still signing with the secret shown at creation, a secret
an older Relay kept in clear or sealed as v1 opened and resealed as v2, a value moved to another
row or altered by one byte refused, key rotation, and a process holding the wrong key or none,
which sends nothing unsigned and says what to do."""

from __future__ import annotations

import base64
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from relayml.domain.notifications import DeliveryStatus
from relayml.errors import IntegrityError, InvalidInput, RelayError
from relayml.notifications.keys import load_box
from relayml.notifications.sealing import SecretBox, key_id
from relayml.services import Services, open_services
from relayml.services.dispatcher import Dispatcher

from .conftest import OLGA, SECRET_KEY, Receiver, drain
from .test_webhooks import _event

OTHER_KEY = "other-key-" + "1" * 32
# A value the v1 sealing (commit 4484bdf, HMAC-SHA256 keystream and tag) wrote with SECRET_KEY
# for webhook V1_WEBHOOK: Relay no longer writes v1, it must still open it.
V1_WEBHOOK = "0123456789abcdef0123456789abcdef"
V1_SECRET = "whsec_v1-written-by-relay-at-4484bdf-xxxxxxxxxxxx"
V1_SEALED = (
    "v1:cbbe52781d4b:zrLDSnPUNkZOvOsXRhQoFDbSnzu7YW-tiGg_D0gBwxTBTi-okATmbTmbXIEPF0cJtb7m-PCTlrCp6ge"
    "v2Lhc6dX3R0CWrtkXgfLWQQ1ou-OY"
)
SECRET_COLUMN = 128  # webhooks.secret is String(128)


def _open(url: str, tmp_path: Path, key: str | None = SECRET_KEY) -> Services:
    svc = open_services(url, (tmp_path / "artifacts").as_uri(), secret_key=key)
    svc.notifications.attempts = 4
    svc.notifications.backoff = 0.01
    return svc


@pytest.fixture
def shared(store_url: str, tmp_path: Path) -> Iterator[Services]:
    svc = _open(store_url, tmp_path)
    admin = svc.identity.provision_local("admin")
    svc.identity.ensure_project(admin, "shop")
    svc.identity.create_user(admin, "olga", ["mlops_engineer"], "shop")
    yield svc
    svc.close()


def _table(url: str) -> list[dict[str, object]]:
    """The webhooks table as the database holds it (no Relay code in between)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(text("SELECT * FROM webhooks"))]
    finally:
        engine.dispose()


def _set_stored(url: str, webhook_id: str, value: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE webhooks SET secret = :v WHERE id = :i"), {"v": value, "i": webhook_id}
            )
    finally:
        engine.dispose()


def _publish(svc: Services) -> None:
    with svc.store.write() as tx:
        pending = svc.notifications.enqueue(tx, _event())
    svc.notifications.dispatch(pending)


def test_the_database_holds_no_clear_secret_and_deliveries_verify_with_the_one_shown(
    shared: Services, store_url: str, receiver: Receiver
) -> None:
    issued = [shared.notifications.add_webhook(OLGA, "shop", receiver.url) for _ in range(3)]
    rows = _table(store_url)
    assert len(rows) == 3
    dump = repr(rows)
    for added in issued:
        assert added.secret not in dump  # nor any part of it that matters
        assert added.secret.removeprefix("whsec_")[:16] not in dump
    assert all(str(r["secret"]).startswith(f"v2:{key_id(SECRET_KEY)}:") for r in rows)
    assert all(len(str(r["secret"])) <= SECRET_COLUMN for r in rows)  # SQLite would not refuse

    _publish(shared)
    assert len(receiver.requests) == 3
    by_hook = {d.id: d.webhook_id for d in shared.notifications.deliveries(OLGA, "shop")}
    secret_of = {a.webhook.id: a.secret for a in issued}
    for i, (headers, _) in enumerate(receiver.requests):
        assert receiver.signature_ok(secret_of[by_hook[headers["relay-delivery"]]], i)


def test_a_secret_an_older_relay_kept_in_clear_still_signs_and_is_sealed_on_first_use(
    shared: Services, store_url: str, receiver: Receiver
) -> None:
    used = shared.notifications.add_webhook(OLGA, "shop", receiver.url).webhook
    idle = shared.notifications.add_webhook(OLGA, "shop", receiver.url).webhook
    old = {used.id: "whsec_" + "a" * 43, idle.id: "whsec_" + "b" * 43}
    for webhook_id, clear in old.items():  # as Relay stored them before sealing
        _set_stored(store_url, webhook_id, clear)

    _publish(shared)  # the first use reads the clear secret, signs with it, seals it
    assert len(receiver.requests) == 2
    index = {h["relay-delivery"]: i for i, (h, _) in enumerate(receiver.requests)}
    for d in shared.notifications.deliveries(OLGA, "shop"):
        assert receiver.signature_ok(old[d.webhook_id], index[d.id])
    assert all(str(r["secret"]).startswith("v2:") for r in _table(store_url))

    _set_stored(store_url, idle.id, old[idle.id])  # one no event has used yet
    with Dispatcher(shared.notifications):  # a server starting seals every such secret
        pass
    stored = {r["id"]: str(r["secret"]) for r in _table(store_url)}
    assert stored[idle.id].startswith("v2:") and old[idle.id] not in repr(stored)


def test_a_process_with_another_key_sends_nothing_and_says_which_key_to_give_it(
    shared: Services, store_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    secret = shared.notifications.add_webhook(OLGA, "shop", receiver.url).secret
    stranger = _open(store_url, tmp_path, key=OTHER_KEY)  # a replica given another key
    stranger.notifications.lease = 0.01  # it postpones the attempt this long (60 s by default)
    try:
        _publish(stranger)
        assert receiver.requests == []  # never unsigned, never signed with garbage
        (d,) = shared.notifications.deliveries(OLGA, "shop")
        assert d.status is DeliveryStatus.PENDING and d.attempts == 0
        assert d.last_error is not None
        assert f"sealed with key {key_id(SECRET_KEY)}" in d.last_error
        assert "RELAY_SECRET_KEY" in d.last_error and "Nothing was sent unsigned" in d.last_error
        assert stranger.notifications.reseal() == (0, [d.last_error])  # left as it was
    finally:
        stranger.close()
    drain(shared)  # a process with the right key sends it
    assert receiver.signature_ok(secret)
    (d,) = shared.notifications.deliveries(OLGA, "shop")
    assert d.status is DeliveryStatus.DELIVERED and d.attempts == 1


def test_no_key_no_webhook_and_a_sealed_value_moved_to_another_row_does_not_open(
    shared: Services, store_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    keyless = _open(store_url, tmp_path, key=None)
    try:
        with pytest.raises(RelayError, match="RELAY_SECRET_KEY"):
            keyless.notifications.add_webhook(OLGA, "shop", receiver.url)
    finally:
        keyless.close()
    one = shared.notifications.add_webhook(OLGA, "shop", receiver.url).webhook
    two = shared.notifications.add_webhook(OLGA, "shop", receiver.url).webhook
    stored = {r["id"]: str(r["secret"]) for r in _table(store_url)}
    _set_stored(store_url, two.id, stored[one.id])  # someone with the database swaps them
    _publish(shared)
    assert len(receiver.requests) == 1  # only webhook one's
    (hurt,) = [d for d in shared.notifications.deliveries(OLGA, "shop") if d.webhook_id == two.id]
    assert hurt.status is DeliveryStatus.PENDING and hurt.attempts == 0
    assert hurt.last_error is not None and "does not verify" in hurt.last_error
    assert "moved from another webhook's row" in hurt.last_error
    assert "remove the webhook and add it again" in hurt.last_error


def test_rotating_the_key_reseals_every_secret_and_signing_goes_on(
    shared: Services, store_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    secret = shared.notifications.add_webhook(OLGA, "shop", receiver.url).secret
    new_key = "rotated-key-" + "2" * 32
    rotated = _open(store_url, tmp_path, key=f"{new_key},{SECRET_KEY}")  # new seals, both open
    try:
        assert rotated.notifications.reseal() == (1, [])
        assert rotated.notifications.reseal() == (0, [])
    finally:
        rotated.close()
    (row,) = _table(store_url)
    assert str(row["secret"]).startswith(f"v2:{key_id(new_key)}:")
    only_new = _open(store_url, tmp_path, key=new_key)  # the old key retired
    try:
        _publish(only_new)
    finally:
        only_new.close()
    assert receiver.signature_ok(secret)


def test_the_key_file_is_made_private_once_and_refused_when_others_may_read_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "home" / "secret.keys"
    first = load_box(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_box(path).current == first.current  # the same key on every use
    with path.open("a") as f:  # rotation: a new last line seals, the old still opens
        f.write("rotated-in-file-" + "3" * 32 + "\n")
    both = load_box(path)
    assert both.current == key_id("rotated-in-file-" + "3" * 32) and len(both.keys) == 2
    path.chmod(0o644)
    with pytest.raises(InvalidInput, match="chmod 600"):
        load_box(path)
    with pytest.raises(InvalidInput, match="at least 32"):
        load_box(None, "short")


def _rename_webhook(url: str, webhook_id: str, new_id: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE webhooks SET id = :n WHERE id = :i"), {"n": new_id, "i": webhook_id}
            )
    finally:
        engine.dispose()


def test_a_v1_value_an_older_relay_wrote_signs_and_is_resealed_as_v2_on_every_path(
    shared: Services, store_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    hook = shared.notifications.add_webhook(OLGA, "shop", receiver.url).webhook
    _rename_webhook(store_url, hook.id, V1_WEBHOOK)  # the webhook the v1 value was sealed for
    _set_stored(store_url, V1_WEBHOOK, V1_SEALED)

    def stored() -> str:
        (row,) = _table(store_url)
        return str(row["secret"])

    _publish(shared)  # first use: opens v1, signs with the secret it holds, reseals as v2
    assert receiver.signature_ok(V1_SECRET)
    assert stored().startswith(f"v2:{key_id(SECRET_KEY)}:")

    _set_stored(store_url, V1_WEBHOOK, V1_SEALED)
    with Dispatcher(shared.notifications):  # a server starting
        pass
    assert stored().startswith(f"v2:{key_id(SECRET_KEY)}:")

    _set_stored(store_url, V1_WEBHOOK, V1_SEALED)  # v1 under a key being rotated out
    new_key = "rotated-key-" + "2" * 32
    rotated = _open(store_url, tmp_path, key=f"{new_key},{SECRET_KEY}")
    try:
        assert rotated.notifications.reseal() == (1, [])  # as `relay webhooks deliver` does
        assert rotated.notifications.reseal() == (0, [])
    finally:
        rotated.close()
    assert stored().startswith(f"v2:{key_id(new_key)}:") and len(stored()) <= SECRET_COLUMN
    only_new = _open(store_url, tmp_path, key=new_key)
    try:
        _publish(only_new)
    finally:
        only_new.close()
    assert len(receiver.requests) == 2 and receiver.signature_ok(V1_SECRET)


def test_a_sealed_value_altered_in_the_table_does_not_open_and_nothing_is_sent(
    shared: Services, store_url: str, receiver: Receiver
) -> None:
    hook = shared.notifications.add_webhook(OLGA, "shop", receiver.url).webhook
    (row,) = _table(store_url)
    value = str(row["secret"])
    last = value[-2]  # a character of the tag that changes decoded bits
    _set_stored(store_url, hook.id, value[:-2] + ("A" if last != "A" else "B") + value[-1])
    _publish(shared)
    assert receiver.requests == []
    (d,) = shared.notifications.deliveries(OLGA, "shop")
    assert d.status is DeliveryStatus.PENDING and d.attempts == 0
    assert d.last_error is not None and "does not verify" in d.last_error


def _blob(sealed: str) -> bytes:
    raw = sealed.split(":", 2)[2]
    return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))


def _with_blob(sealed: str, blob: bytes) -> str:
    head = sealed.rsplit(":", 1)[0]
    return f"{head}:{base64.urlsafe_b64encode(blob).decode().rstrip('=')}"


def test_one_byte_changed_anywhere_in_the_nonce_ciphertext_or_tag_fails_to_open() -> None:
    box = SecretBox((SECRET_KEY,), "test")
    secret = "whsec_" + "s" * 43
    sealed = box.seal(secret, V1_WEBHOOK)
    blob = _blob(sealed)
    assert len(blob) == 12 + len(secret) + 16  # nonce, ciphertext, tag
    for i in range(len(blob)):
        tampered = blob[:i] + bytes([blob[i] ^ 0x01]) + blob[i + 1 :]
        with pytest.raises(IntegrityError, match="does not verify"):
            box.open(_with_blob(sealed, tampered), V1_WEBHOOK)
    with pytest.raises(IntegrityError, match="does not verify"):
        box.open(_with_blob(sealed, blob[:-1]), V1_WEBHOOK)  # a byte cut off
    assert box.open(sealed, V1_WEBHOOK) == secret


def test_two_seals_of_one_secret_differ_and_both_open() -> None:
    box = SecretBox((SECRET_KEY,), "test")
    secret = "whsec_" + "t" * 43
    one, two = box.seal(secret, V1_WEBHOOK), box.seal(secret, V1_WEBHOOK)
    assert one != two and _blob(one)[:12] != _blob(two)[:12]  # a random nonce each time
    assert box.open(one, V1_WEBHOOK) == box.open(two, V1_WEBHOOK) == secret
