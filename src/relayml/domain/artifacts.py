"""Rules for artifacts, the same in every layer: what a logical path and a digest may be, and
the block size bytes stream in."""

from __future__ import annotations

import hashlib
import posixpath

from relayml.errors import InvalidInput

CHUNK = 1 << 20  # bytes per read when streaming a file or a blob
_HEX = set("0123456789abcdef")


def check_logical_path(path: str) -> str:
    """A relative POSIX path with no '..', no absolute root, no NUL, no backslash tricks."""
    if not isinstance(path, str) or not path:
        raise InvalidInput("artifact path must be a non-empty string")
    if "\x00" in path:
        raise InvalidInput(f"artifact path {path!r} contains a NUL byte")
    if "\\" in path:
        raise InvalidInput(f"artifact path {path!r} contains '\\'; use '/' as the separator")
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        raise InvalidInput(f"artifact path {path!r} is absolute; give a path relative to the run")
    parts = path.split("/")
    if any(p in ("..", ".") for p in parts) or any(p == "" for p in parts[:-1]):
        raise InvalidInput(f"artifact path {path!r} has '.', '..' or empty parts; remove them")
    norm = posixpath.normpath(path)
    if norm.startswith("..") or len(norm) > 1024:
        raise InvalidInput(f"artifact path {path!r} escapes its root or is too long")
    return norm


def check_digest(digest: str) -> str:
    if not isinstance(digest, str) or len(digest) != 64 or not set(digest) <= _HEX:
        raise InvalidInput(f"invalid sha256 digest {digest!r}: expected 64 lowercase hex chars")
    return digest


def sha256_hex(data: bytes) -> str:
    """The content digest Relay uses for artifacts: sha256 of the bytes, 64 lowercase hex."""
    return hashlib.sha256(data).hexdigest()
