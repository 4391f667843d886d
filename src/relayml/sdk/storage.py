"""`relay.gc()`: what killed processes left behind, listed or removed.

The backend sweeps the stores (blobs nothing refers to, unfinished uploads); this side adds the
scratch directories of processes on this machine that died without cleaning up.
"""

from __future__ import annotations

import time

from relayml.client.base import Backend
from relayml.domain.storage import DEFAULT_GRACE, GcReport, Leftover
from relayml.scratch import orphaned_scratch, remove_scratch


def collect(backend: Backend, *, apply: bool = False, grace: str = DEFAULT_GRACE) -> GcReport:
    report = backend.storage.gc(apply=apply, grace=grace)
    now = time.time()
    cutoff = now - report.grace_seconds
    local = sorted((d for d in orphaned_scratch() if d.mtime < cutoff), key=lambda d: d.path)
    if apply:
        for d in local:
            remove_scratch(d.path)
    extra = [Leftover("scratch", str(d.path), d.size, now - d.mtime) for d in local]
    return GcReport(report.applied, report.grace_seconds, report.leftovers + extra)


def gc(*, apply: bool = False, grace: str = DEFAULT_GRACE) -> GcReport:
    """List (or, with ``apply=True``, remove) stored blobs nothing refers to, unfinished
    uploads and orphaned local scratch directories, all older than ``grace`` (admin)."""
    from relayml.sdk.session import current

    return collect(current().backend, apply=apply, grace=grace)
