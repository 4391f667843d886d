"""Content-addressed artifact blobs on any fsspec filesystem.

Blobs live at `<root>/sha256/<ab>/<cdef...>`: the same bytes are stored once. Writes go to a
temporary name and are renamed into place (a reader never sees half a blob); reads re-hash and
refuse bytes that do not match their digest. Runs map logical paths (`model/weights.bin`) to
digests in the metadata store; `domain.artifacts.check_logical_path` keeps those paths inside
their root.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import posixpath
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from relayml.domain.artifacts import CHUNK, check_digest
from relayml.errors import IntegrityError, InvalidInput, NotFound


@dataclass(frozen=True)
class StoredFile:
    name: str  # a blob's digest, or an upload's temporary name
    size: int
    mtime: float  # seconds since the epoch


def _mtime(info: dict[str, Any]) -> float:
    value = info.get("mtime", info.get("LastModified", info.get("last_modified", 0)))
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value or 0)


class ArtifactStore:
    def __init__(self, uri: str) -> None:
        self.uri = uri

    # fsspec is opened on first use: a command that reads no blob (relay runs ls) never
    # imports it.
    @cached_property
    def _opened(self) -> tuple[Any, str]:
        from fsspec.core import url_to_fs

        fs, root = url_to_fs(self.uri)
        return fs, root.rstrip("/")

    @property
    def fs(self) -> Any:
        return self._opened[0]

    @property
    def root(self) -> str:
        return self._opened[1]

    @cached_property
    def local(self) -> bool:
        protocol = self.fs.protocol
        return "file" in (protocol if isinstance(protocol, tuple) else (protocol,))

    def _blob(self, digest: str) -> str:
        check_digest(digest)
        return f"{self.root}/sha256/{digest[:2]}/{digest[2:]}"

    def exists(self, digest: str) -> bool:
        return bool(self.fs.exists(self._blob(digest)))

    def size(self, digest: str) -> int:
        """The stored blob's size in bytes."""
        return int(self.fs.size(self._blob(digest)))

    def local_path(self, digest: str) -> Path | None:
        """The blob's path when the store is on the local filesystem (to read it in place)."""
        return Path(self._blob(digest)) if self.local else None

    def put_file(self, local_path: str | os.PathLike[str]) -> tuple[str, int]:
        with open(local_path, "rb") as fh:
            return self.put_chunks(iter(lambda: fh.read(CHUNK), b""))

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        return self.put_chunks([data])

    def put_chunks(self, chunks: Iterable[bytes], expected: str | None = None) -> tuple[str, int]:
        """Store a stream; returns (sha256, size). With `expected`, refuses other bytes."""
        tmp = f"{self.root}/incoming/{uuid.uuid4().hex}"
        self.fs.makedirs(f"{self.root}/incoming", exist_ok=True)
        h = hashlib.sha256()
        size = 0
        try:
            with self.fs.open(tmp, "wb") as out:
                for chunk in chunks:
                    h.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
            digest = h.hexdigest()
            if expected is not None and digest != expected:
                raise IntegrityError(
                    f"uploaded bytes hash to {digest}, not the declared {expected}; "
                    "the upload was corrupted, send it again"
                )
            final = self._blob(digest)
            if self.fs.exists(final):
                self.fs.rm(tmp)
                self._touch(final)  # uploaded again: young again, so gc's grace covers it
            else:
                self.fs.makedirs(posixpath.dirname(final), exist_ok=True)
                if self.local:
                    os.replace(tmp, final)  # atomic on one filesystem
                else:
                    self.fs.mv(tmp, final)
            return digest, size
        except BaseException:
            if self.fs.exists(tmp):
                self.fs.rm(tmp)
            raise

    def _touch(self, path: str) -> None:
        if self.local:
            with contextlib.suppress(OSError):
                os.utime(path)

    # garbage collection (services/storage.py decides what is garbage) ---------------------
    def stored_blobs(self) -> Iterator[StoredFile]:
        """Every blob: its digest, size and last modification (seconds since the epoch)."""
        for path, info in self._walk(f"{self.root}/sha256"):
            rel = path[len(self.root) + len("/sha256/") :].split("/")
            if len(rel) == 2 and len(rel[0]) == 2 and len(rel[0] + rel[1]) == 64:
                yield StoredFile(rel[0] + rel[1], int(info.get("size") or 0), _mtime(info))

    def incoming(self) -> Iterator[StoredFile]:
        """Uploads in progress, or left behind by a process that died mid-upload."""
        for path, info in self._walk(f"{self.root}/incoming"):
            yield StoredFile(posixpath.basename(path), int(info.get("size") or 0), _mtime(info))

    def _walk(self, folder: str) -> Iterator[tuple[str, dict[str, Any]]]:
        if not self.fs.exists(folder):
            return
        found: dict[str, dict[str, Any]] = self.fs.find(folder, detail=True)
        yield from found.items()

    def modified(self, digest: str) -> float | None:
        try:
            return _mtime(self.fs.info(self._blob(digest)))
        except FileNotFoundError:
            return None

    def remove_blob(self, digest: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm(self._blob(digest))

    def remove_incoming(self, name: str) -> None:
        if "/" in name or name in ("", ".", ".."):
            raise InvalidInput(f"invalid upload name {name!r}")
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm(f"{self.root}/incoming/{name}")

    def iter_verified(self, digest: str) -> Iterator[bytes]:
        """Yield the blob's bytes; raises IntegrityError at the end if they do not match."""
        path = self._blob(digest)
        if not self.fs.exists(path):
            raise NotFound(f"artifact blob {digest} is missing from {self.uri}")
        h = hashlib.sha256()
        with self.fs.open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                h.update(chunk)
                yield chunk
        if h.hexdigest() != digest:
            raise IntegrityError(
                f"artifact blob {digest} is corrupted on disk (its bytes hash to "
                f"{h.hexdigest()}); restore it from a backup"
            )

    def read_bytes(self, digest: str) -> bytes:
        return b"".join(self.iter_verified(digest))

    def download(self, digest: str, dest: str | os.PathLike[str]) -> Path:
        """Write the verified blob to `dest` atomically."""
        dest_path = Path(dest)
        dest_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest_path.with_name(f".{dest_path.name}.{uuid.uuid4().hex}.part")
        try:
            with open(tmp, "wb") as out:
                for chunk in self.iter_verified(digest):
                    out.write(chunk)
            os.replace(tmp, dest_path)
        finally:
            tmp.unlink(missing_ok=True)
        return dest_path
