"""Opening ``v1:`` sealed secrets, read-only: Relay's first sealing, made on stdlib HMAC-SHA256
before `cryptography` was a dependency (a keystream of HMAC(enc_key, nonce || webhook id ||
counter) and a 16-byte HMAC tag over the key id, webhook id, nonce and ciphertext).

Nothing seals v1 any more: the service reseals every v1 value as v2 (`sealing`) on first use,
at a dispatcher's start and in `relay webhooks deliver`. Delete this module once no database
can hold a v1 value.
"""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "v1:"
_NONCE = 16
_TAG = 16


def _derive(key: str, purpose: bytes) -> bytes:
    return hmac.new(key.encode(), b"relay webhook secrets: " + purpose, hashlib.sha256).digest()


def _keystream(enc_key: bytes, nonce: bytes, context: bytes, size: int) -> bytes:
    blocks = []
    for counter in range((size + 31) // 32):
        msg = nonce + context + counter.to_bytes(4, "big")
        blocks.append(hmac.new(enc_key, msg, hashlib.sha256).digest())
    return b"".join(blocks)[:size]


def open_v1(key: str, kid: str, blob: bytes, context: str) -> str | None:
    """The secret a v1 `blob` (nonce || ciphertext || tag) holds for webhook `context`, sealed
    with `key` (whose id is `kid`); None when it does not verify."""
    if len(blob) < _NONCE + _TAG:
        return None
    nonce, sealed, tag = blob[:_NONCE], blob[_NONCE:-_TAG], blob[-_TAG:]
    ctx = context.encode()
    msg = PREFIX.encode() + kid.encode() + b"\0" + ctx + b"\0" + nonce + sealed
    expected = hmac.new(_derive(key, b"authentication"), msg, hashlib.sha256).digest()[:_TAG]
    if not hmac.compare_digest(tag, expected):
        return None
    stream = _keystream(_derive(key, b"encryption"), nonce, ctx, len(sealed))
    try:
        return bytes(a ^ b for a, b in zip(sealed, stream, strict=True)).decode()
    except UnicodeDecodeError:
        return None
