"""`gc`: only admins; nothing referenced and nothing younger than the grace period is listed;
a dry run removes nothing; the SDK, the local backend and REST share one service."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest

import relayml as relay
from relayml.errors import InvalidInput, PermissionDenied
from relayml.sdk.session import connect
from tests.conftest import settings_for


def test_gc_keeps_referenced_and_young_blobs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # scratch directories of its own: gc also sweeps those of dead processes on this machine,
    # and other tests running beside this one kill processes that hold some
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    settings = settings_for(tmp_path)
    admin = connect(settings=settings, project="p").backend
    run = admin.tracking.create_run(project="p", experiment="e")
    kept = tmp_path / "kept.txt"
    kept.write_text("referenced")
    referenced = admin.artifacts.log_artifact(run.id, "kept.txt", kept).digest
    services = admin.services  # type: ignore[attr-defined]
    orphan, _ = services.artifact_store.put_bytes(b"nothing refers to me")
    young, _ = services.artifact_store.put_bytes(b"an upload about to be published")
    hour_ago = time.time() - 3600
    for digest in (referenced, orphan):
        os.utime(services.artifact_store.local_path(digest), (hour_ago, hour_ago))

    report = admin.storage.gc(grace="30m")
    assert [(i.kind, i.name) for i in report.leftovers] == [("blob", orphan)]
    assert not report.applied and services.artifact_store.exists(orphan)  # a dry run
    assert young not in {i.name for i in report.leftovers}

    viewer = connect(
        settings=settings, token=admin.identity.create_user("v", ["model_governance"], "*").token
    )
    with pytest.raises(PermissionDenied, match=r"storage\.gc"):
        viewer.backend.storage.gc(apply=True, grace="1ms")
    with pytest.raises(InvalidInput, match="duration"):
        admin.storage.gc(grace="soon")

    relay.init(project="p", home=tmp_path)
    applied = relay.gc(apply=True, grace="30m")
    assert [i.name for i in applied.leftovers] == [orphan] and applied.applied
    assert not services.artifact_store.exists(orphan)
    assert services.artifact_store.exists(referenced) and services.artifact_store.exists(young)
    assert admin.audit.verify().ok
    viewer.backend.close()
    admin.close()
