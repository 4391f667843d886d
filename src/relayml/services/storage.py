"""Garbage collection: stored bytes that nothing refers to any more (admin, audited)."""

from __future__ import annotations

import time

from relayml.domain.audit import EntityKind
from relayml.domain.durations import parse_duration
from relayml.domain.identity import GLOBAL_SCOPE, Principal
from relayml.domain.roles import Action
from relayml.domain.storage import DEFAULT_GRACE, GcReport, Leftover
from relayml.services.base import ServiceBase


class StorageService(ServiceBase):
    def gc(
        self, who: Principal, *, apply: bool = False, grace: str | float = DEFAULT_GRACE
    ) -> GcReport:
        """Blobs no run, dataset version or pipeline step refers to, and unfinished uploads,
        both older than `grace`; removed only with `apply` (then audited as storage.gc)."""
        grace_seconds = parse_duration(grace)
        with self.read() as tx:
            self.require(tx, who, Action.STORAGE_GC, GLOBAL_SCOPE, EntityKind.STORAGE, "gc")
        now = time.time()
        cutoff = now - grace_seconds
        old = [b for b in self.artifacts.stored_blobs() if b.mtime < cutoff]
        # Read after listing: a blob referenced by the time of this read is kept.
        with self.read() as tx:
            referenced = tx.storage.referenced(b.name for b in old)
        leftovers = [
            Leftover("blob", b.name, b.size, now - b.mtime) for b in old if b.name not in referenced
        ]
        leftovers += [
            Leftover("upload", f.name, f.size, now - f.mtime)
            for f in self.artifacts.incoming()
            if f.mtime < cutoff
        ]
        leftovers.sort(key=lambda item: (item.kind, item.name))
        report = GcReport(applied=apply, grace_seconds=grace_seconds, leftovers=leftovers)
        if apply and leftovers:
            self._remove(who, report, cutoff)
        return report

    def _remove(self, who: Principal, report: GcReport, cutoff: float) -> None:
        removed = []
        for item in report.leftovers:
            if item.kind == "upload":
                self.artifacts.remove_incoming(item.name)
            else:
                # Uploaded again since it was listed (a publish about to refer to it): keep it.
                modified = self.artifacts.modified(item.name)
                if modified is None or modified >= cutoff:
                    continue
                self.artifacts.remove_blob(item.name)
            removed.append({"kind": item.kind, "name": item.name, "size": item.size})
        with self.write() as tx:
            roles = self.require(tx, who, Action.STORAGE_GC, GLOBAL_SCOPE, EntityKind.STORAGE, "gc")
            payload = {"grace_seconds": report.grace_seconds, "removed": removed}
            self.record(
                tx, who, roles, Action.STORAGE_GC, GLOBAL_SCOPE, EntityKind.STORAGE, "gc", payload
            )
