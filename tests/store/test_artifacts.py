"""Content-addressed artifact blobs: dedup, atomic writes, verified reads."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from relayml.errors import IntegrityError
from relayml.store.artifacts import ArtifactStore


def test_same_bytes_stored_once(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "a"))
    d1, n1 = store.put_bytes(b"hello" * 1000)
    d2, _ = store.put_bytes(b"hello" * 1000)
    assert d1 == d2 == hashlib.sha256(b"hello" * 1000).hexdigest() and n1 == 5000
    blobs = [p for p in (tmp_path / "a" / "sha256").rglob("*") if p.is_file()]
    assert len(blobs) == 1
    assert not any((tmp_path / "a" / "incoming").iterdir())  # no temp files left behind


def test_corrupted_blob_is_refused_on_read(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path))
    digest, _ = store.put_bytes(b"model weights")
    blob = next(p for p in (tmp_path / "sha256").rglob("*") if p.is_file())
    blob.write_bytes(b"model weightz")
    with pytest.raises(IntegrityError, match="corrupted"):
        store.read_bytes(digest)
    with pytest.raises(IntegrityError):
        store.download(digest, tmp_path / "out.bin")
    assert not (tmp_path / "out.bin").exists()  # nothing half-written at the destination


def test_declared_digest_mismatch_stores_nothing(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path))
    with pytest.raises(IntegrityError):
        store.put_chunks([b"abc"], expected="0" * 64)
    assert not (tmp_path / "sha256").exists()
