"""Webhook signing secrets sealed at rest with a server key: AES-256-GCM from `cryptography`.

A secret must be recoverable to sign, so it cannot be hashed as a token is; it is kept sealed:
encrypted and authenticated with AES-256-GCM (`cryptography`'s AESGCM) under a key derived from
the server key with HKDF-SHA256, a random 96-bit nonce per seal, and the webhook's id as the
associated data, so a sealed value can be neither read, altered, nor moved to another webhook's
row. The server key's id (12 hex digits, derived from it, stored with each value) names which
key sealed it, so a process holding another key says so instead of signing with garbage.
Stored form: ``v2:<key id>:<base64url(nonce || ciphertext || tag)>``, 119 characters for a
`whsec_` secret (the column holds 128).

Older values are still opened, never written: ``v1:`` (Relay's own HMAC-SHA256 construction,
`sealing_v1`) and a value without prefix (a secret stored in clear by a Relay before sealing,
read as it is); the service reseals both as v2 (`NotificationService.reseal`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from relayml.errors import IntegrityError, InvalidInput
from relayml.notifications import sealing_v1

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "v2:"
MIN_KEY = 32
_NONCE = 12  # 96 bits, random per seal (GCM's standard nonce size)
_INFO = b"relay webhook secrets v2: AES-256-GCM"


def key_id(key: str) -> str:
    """The public name of a server key (the same wherever the key is given)."""
    return hmac.new(key.encode(), b"relay secret key id", hashlib.sha256).hexdigest()[:12]


def _aead(key: str) -> AESGCM:
    """AES-256-GCM under the 32 bytes HKDF-SHA256 derives from the server key (any text of at
    least MIN_KEY characters: a hex key, a passphrase from a secret store)."""
    # imported here: `cryptography` loads only when a secret is sealed or opened, not with
    # every CLI command that opens the services
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO)
    return AESGCM(hkdf.derive(key.encode()))


def is_sealed(stored: str) -> bool:
    return stored.startswith((PREFIX, sealing_v1.PREFIX))


def is_current_format(stored: str) -> bool:
    """Sealed as v2 (not in clear, not v1)."""
    return stored.startswith(PREFIX)


def sealed_with(stored: str) -> str | None:
    """The id of the key that sealed `stored`, or None for a secret kept in clear."""
    return stored.split(":", 2)[1] if is_sealed(stored) and stored.count(":") >= 2 else None


def _b64(raw: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except ValueError:
        return b""


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

    def is_current(self, stored: str) -> bool:
        """Sealed as v2 with the current key: nothing to reseal."""
        return stored.startswith(f"{PREFIX}{self.current}:")

    def seal(self, secret: str, context: str) -> str:
        """`secret` sealed for the webhook `context` (its id) with the current key."""
        key = self.keys[0]
        nonce = secrets.token_bytes(_NONCE)
        sealed = _aead(key).encrypt(nonce, secret.encode(), context.encode())
        blob = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{PREFIX}{key_id(key)}:{blob}"

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
        blob = _b64(stored.split(":", 2)[2])
        if is_current_format(stored):
            secret = self._open_v2(key, blob, context)
        else:
            secret = sealing_v1.open_v1(key, kid or "", blob, context)
        if secret is None:
            raise IntegrityError(
                f"webhook {context}'s sealed signing secret does not verify (altered, or moved "
                "from another webhook's row); remove the webhook and add it again. Nothing was "
                "sent unsigned."
            )
        return secret

    @staticmethod
    def _open_v2(key: str, blob: bytes, context: str) -> str | None:
        from cryptography.exceptions import InvalidTag

        if len(blob) <= _NONCE:
            return None
        try:
            plain = _aead(key).decrypt(blob[:_NONCE], blob[_NONCE:], context.encode())
            return plain.decode()
        except (InvalidTag, UnicodeDecodeError):
            return None
