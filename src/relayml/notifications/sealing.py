"""Webhook signing secrets sealed at rest with a server key (HMAC-SHA256 only: no new library).

A secret must be recoverable to sign, so it cannot be hashed as a token is; it is kept sealed:
encrypted with a keystream of HMAC-SHA256(enc_key, nonce || webhook id || counter) (a PRF in
counter mode, a fresh 16-byte nonce each time) and authenticated with a 16-byte
HMAC-SHA256(mac_key, ...) tag over the key id, the webhook id, the nonce and the ciphertext, so a
sealed value cannot be altered, nor moved to another webhook's row. enc_key and mac_key are
derived from the server key; its id (12 hex digits, derived too, and stored with each sealed
value) names which key sealed it, so a process holding another key says so instead of signing
with garbage. Stored form: ``v1:<key id>:<base64url(nonce || ciphertext || tag)>``.

A value without the ``v1:`` prefix is a secret stored in clear by a Relay before sealing; it is
read as it is and resealed by the service (`NotificationService.reseal`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

from relayml.errors import IntegrityError, InvalidInput

PREFIX = "v1:"
MIN_KEY = 32
_NONCE = 16
_TAG = 16


def key_id(key: str) -> str:
    """The public name of a server key (the same wherever the key is given)."""
    return hmac.new(key.encode(), b"relay secret key id", hashlib.sha256).hexdigest()[:12]


def _derive(key: str, purpose: bytes) -> bytes:
    return hmac.new(key.encode(), b"relay webhook secrets: " + purpose, hashlib.sha256).digest()


def _keystream(enc_key: bytes, nonce: bytes, context: bytes, size: int) -> bytes:
    blocks = []
    for counter in range((size + 31) // 32):
        msg = nonce + context + counter.to_bytes(4, "big")
        blocks.append(hmac.new(enc_key, msg, hashlib.sha256).digest())
    return b"".join(blocks)[:size]


def _tag(mac_key: bytes, kid: str, context: bytes, nonce: bytes, sealed: bytes) -> bytes:
    msg = PREFIX.encode() + kid.encode() + b"\0" + context + b"\0" + nonce + sealed
    return hmac.new(mac_key, msg, hashlib.sha256).digest()[:_TAG]


def is_sealed(stored: str) -> bool:
    return stored.startswith(PREFIX)


def sealed_with(stored: str) -> str | None:
    """The id of the key that sealed `stored`, or None for a secret kept in clear."""
    return stored.split(":", 2)[1] if is_sealed(stored) and stored.count(":") >= 2 else None


@dataclass(frozen=True)
class SecretBox:
    """Seals with the current key; opens with any of `keys` (the current one first)."""

    keys: tuple[str, ...] = field(repr=False)
    source: str  # where the keys came from, for messages: "RELAY_SECRET_KEY" or a file path

    def __post_init__(self) -> None:
        if not self.keys:
            raise InvalidInput(f"{self.source} holds no key")
        for key in self.keys:
            if len(key) < MIN_KEY:
                raise InvalidInput(
                    f"a webhook secret key in {self.source} is {len(key)} characters; each must "
                    f"be at least {MIN_KEY}: make one with python -c 'import secrets; "
                    "print(secrets.token_hex(32))'"
                )

    @property
    def current(self) -> str:
        return key_id(self.keys[0])

    def seal(self, secret: str, context: str) -> str:
        """`secret` sealed for the webhook `context` (its id) with the current key."""
        key = self.keys[0]
        kid = key_id(key)
        nonce = secrets.token_bytes(_NONCE)
        plain = secret.encode()
        ctx = context.encode()
        stream = _keystream(_derive(key, b"encryption"), nonce, ctx, len(plain))
        sealed = bytes(a ^ b for a, b in zip(plain, stream, strict=True))
        tag = _tag(_derive(key, b"authentication"), kid, ctx, nonce, sealed)
        blob = base64.urlsafe_b64encode(nonce + sealed + tag).decode().rstrip("=")
        return f"{PREFIX}{kid}:{blob}"

    def open(self, stored: str, context: str) -> str:
        """The secret `stored` holds for webhook `context`; a clear (pre-sealing) value as is.
        Raises IntegrityError, saying what to do, when no key at hand opens it."""
        if not is_sealed(stored):
            return stored
        kid = sealed_with(stored)
        by_id = {key_id(k): k for k in self.keys}
        key = by_id.get(kid or "")
        if key is None:
            raise IntegrityError(
                f"webhook {context}'s signing secret was sealed with key {kid}, which this "
                f"process does not hold (its keys, from {self.source}: {', '.join(by_id)}); "
                "give every Relay process the same RELAY_SECRET_KEY (or secret.keys file), "
                "as docs/webhooks.md says. Nothing was sent unsigned."
            )
        raw = stored.split(":", 2)[2]
        try:
            blob = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        except ValueError:
            blob = b""
        nonce, sealed, tag = blob[:_NONCE], blob[_NONCE:-_TAG], blob[-_TAG:]
        ctx = context.encode()
        expected = _tag(_derive(key, b"authentication"), kid or "", ctx, nonce, sealed)
        if len(blob) < _NONCE + _TAG or not hmac.compare_digest(tag, expected):
            raise IntegrityError(
                f"webhook {context}'s sealed signing secret does not verify (altered, or moved "
                "from another webhook's row); remove the webhook and add it again. Nothing was "
                "sent unsigned."
            )
        stream = _keystream(_derive(key, b"encryption"), nonce, ctx, len(sealed))
        return bytes(a ^ b for a, b in zip(sealed, stream, strict=True)).decode()
