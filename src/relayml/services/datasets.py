"""Versioned datasets: publish (validate, profile, register), read, lineage, quarantine.

Publishing is the service's job whatever the interface: the caller hands over a Parquet file
already in the artifact store (`upload`), and `publish` reads it back in streaming passes,
computing its content digest, validating it against its contract and profiling it, before it
registers a version. So the same checks and the same permission apply to the SDK, REST and CLI.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from relayml.domain.artifacts import check_digest
from relayml.domain.audit import EntityKind, Event
from relayml.domain.datasets import (
    DatasetInfo,
    DatasetStatus,
    DatasetVersion,
    LineageNode,
    TrustedCheck,
    check_text,
)
from relayml.domain.identity import Principal, check_name
from relayml.domain.refs import parse_ref
from relayml.domain.roles import Action
from relayml.domain.tracking import check_run_id
from relayml.errors import Conflict, InvalidInput, NotFound, Unprocessable
from relayml.scratch import scratch_dir
from relayml.services.base import ServiceBase, utcnow
from relayml.store.base import Transaction

MAX_DEPTH = 20
_RETRIES = 3


def _contract_conflict(existing: DatasetVersion, quality: dict[str, Any] | None) -> Conflict:
    """The same content again, under a contract the existing version was not checked against:
    a version is its content and keeps the contract it was published under, so say so (and
    what this contract found) rather than return the version as if it had been checked."""
    before = "under another contract" if existing.contract_digest else "without a contract"
    verdict = ""
    if quality is not None:
        failed = [c.get("name", "?") for c in quality.get("checks", []) if not c.get("passed")]
        verdict = (
            f"; the contract you gave fails {', '.join(map(str, failed))} on it"
            if failed
            else "; the contract you gave passes on it"
        )
    return Conflict(
        f"this data is already {existing.ref}, published {before}{verdict}. A version is its "
        "content and keeps its contract: check the data with relay contracts check, or "
        "publish changed data for a new version",
        version=existing.ref,
    )


class DatasetService(ServiceBase):
    # helpers -----------------------------------------------------------------------------
    def _find(
        self, tx: Transaction, project: str, ref: str, allow_quarantined: bool
    ) -> tuple[int, DatasetVersion]:
        r = parse_ref(ref)
        found = tx.datasets.find_version(project, r.name, r.version, allow_quarantined)
        if found is None:
            if tx.datasets.dataset_id(project, r.name) is None:
                raise NotFound(
                    f"no dataset {r.name!r} in project {project!r}; list them with: "
                    f"relay datasets ls -p {project}"
                )
            if r.version is None:
                raise Unprocessable(
                    f"every version of dataset {r.name!r} is quarantined or deprecated; see "
                    f"them with: relay datasets versions {r.name}, then name one (name@N), "
                    "release one, or pass allow_quarantined=True"
                )
            raise NotFound(
                f"dataset {r.name!r} has no version {r.version}; see its versions with: "
                f"relay datasets versions {r.name}"
            )
        if not allow_quarantined and found[1].status is DatasetStatus.QUARANTINED:
            raise quarantined_error(found[1])
        return found

    # publishing --------------------------------------------------------------------------
    def upload(
        self,
        who: Principal,
        project: str,
        chunks: Iterable[bytes],
        expected_digest: str | None = None,
    ) -> tuple[str, int]:
        """Store a Parquet file's bytes for a later `publish`; returns (sha256, size)."""
        if expected_digest is not None:
            check_digest(expected_digest)
        with self.read() as tx:
            self.require_in_project(
                tx, who, Action.DATASET_PUBLISH, project, EntityKind.PROJECT, project
            )
        return self.store_upload(who, project, chunks, expected_digest)

    def publish(
        self,
        who: Principal,
        project: str,
        name: str,
        blob: str,
        *,
        contract: str | None = None,
        description: str = "",
        source: str = "",
        parents: list[str] | None = None,
        producer: dict[str, str] | None = None,
    ) -> DatasetVersion:
        """Validate, profile and register the uploaded Parquet file `blob` as `name`'s next
        version; identical content returns the existing version instead."""
        check_name("dataset", name)
        check_digest(blob)
        description = check_text("description", description)
        source = check_text("source", source)
        parent_refs = [str(parse_ref(p)) for p in parents or []]
        if any(p.endswith("@latest") for p in parent_refs):
            raise InvalidInput(f"parents must name versions (e.g. loans@3), got {parents}")
        clean_producer = _producer(producer)
        if contract is not None and not isinstance(contract, str):
            raise InvalidInput("the contract must be sent as YAML text")
        with self.read() as tx:
            self.require_in_project(
                tx, who, Action.DATASET_PUBLISH, project, EntityKind.DATASET, name
            )
            trusted = [c.ref for c in tx.datasets.trusted_checks(project)] if contract else []
            checked = _Contract(contract, project, trusted)
            for p in parent_refs:
                self._find(tx, project, p, allow_quarantined=True)
            if clean_producer is not None:
                _check_producer(tx, project, clean_producer)
            self.require_blob(tx, project, blob, "uploaded file")
        with self._local_file(blob) as path:
            scan = _scan(path, checked)
            existing = self._existing(project, name, scan.digest)
            if existing is not None:
                if checked.digest is not None and existing.contract_digest != checked.digest:
                    raise _contract_conflict(existing, checked.report())
                return existing
            scan.bin_pass(path)
        sketch_blob, _ = self.artifacts.put_bytes(json.dumps(scan.sketch).encode())
        quality = checked.report()
        status = DatasetStatus.VALID
        if quality is not None and not quality.get("passed", True):
            status = DatasetStatus.QUARANTINED
        draft = DatasetVersion(
            project=project,
            name=name,
            version=0,  # the next free number, taken in the registering transaction
            digest=scan.digest,
            blob=blob,
            size=scan.size,
            rows=scan.rows,
            schema=scan.schema,
            profile=scan.profile,
            sketch_blob=sketch_blob,
            quality=quality,
            contract=checked.text,
            contract_digest=checked.digest,
            status=status,
            description=description,
            source=source,
            parents=parent_refs,
            producer=clean_producer,
            created_at=utcnow(),
            created_by=who.user,
        )
        for attempt in range(_RETRIES):
            try:
                return self._register(who, draft)
            except Conflict:
                if attempt == _RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def _existing(self, project: str, name: str, digest: str) -> DatasetVersion | None:
        with self.read() as tx:
            ds = tx.datasets.dataset_id(project, name)
            found = tx.datasets.version_by_digest(ds, digest) if ds is not None else None
            return found[1] if found else None

    def _register(self, who: Principal, draft: DatasetVersion) -> DatasetVersion:
        project, name = draft.project, draft.name
        with self.write() as tx:
            roles = self.require(tx, who, Action.DATASET_PUBLISH, project, EntityKind.DATASET, name)
            now = utcnow()
            ds = tx.datasets.ensure_dataset(project, name, draft.description, who.user, now)
            found = tx.datasets.version_by_digest(ds, draft.digest)
            if found is not None:  # published concurrently with the same content
                return found[1]
            parent_ids = [self._find(tx, project, p, True)[0] for p in draft.parents]
            version = tx.datasets.next_version(ds)
            tx.datasets.insert_version(
                ds, replace(draft, version=version, created_at=now), parent_ids
            )
            payload: dict[str, Any] = {
                "digest": draft.digest,
                "blob": draft.blob,
                "status": draft.status.value,
                "source": draft.source,
                "parents": draft.parents,
                "contract_digest": draft.contract_digest,
            }
            ref = f"{name}@{version}"
            self.record(
                tx, who, roles, Action.DATASET_PUBLISH, project, EntityKind.DATASET, ref, payload
            )
            result = tx.datasets.find_version(project, name, version, True)
            assert result is not None
            return result[1]

    @contextlib.contextmanager
    def _local_file(self, blob: str) -> Iterator[Path]:
        local = self.artifacts.local_path(blob)
        if local is not None:
            yield local
            return
        with scratch_dir("publish") as tmp:
            yield self.artifacts.download(blob, tmp / "data.parquet")

    # reading -----------------------------------------------------------------------------
    def get(
        self, who: Principal, project: str, ref: str, allow_quarantined: bool = False
    ) -> DatasetVersion:
        with self.read() as tx:
            self.require_in_project(tx, who, Action.DATASET_READ, project, EntityKind.DATASET, ref)
            return self._find(tx, project, ref, allow_quarantined)[1]

    def download(
        self, who: Principal, project: str, ref: str, allow_quarantined: bool = False
    ) -> tuple[DatasetVersion, Iterator[bytes]]:
        """The version and its Parquet bytes, verified against their sha256 as they stream."""
        version = self.get(who, project, ref, allow_quarantined)
        return version, self.artifacts.iter_verified(version.blob)

    def sketch(
        self, who: Principal, project: str, ref: str, allow_quarantined: bool = False
    ) -> dict[str, Any]:
        """The stored drift summary of a version (a `TableSketch` as a dict)."""
        version = self.get(who, project, ref, allow_quarantined)
        if version.sketch_blob is None:
            raise NotFound(f"{version.ref} has no stored drift summary")
        result: dict[str, Any] = json.loads(self.artifacts.read_bytes(version.sketch_blob))
        return result

    def list_datasets(self, who: Principal, project: str) -> list[DatasetInfo]:
        with self.read() as tx:
            self.require_in_project(
                tx, who, Action.DATASET_READ, project, EntityKind.PROJECT, project
            )
            return tx.datasets.list_datasets(project)

    def versions(self, who: Principal, project: str, name: str) -> list[DatasetVersion]:
        check_name("dataset", name)
        with self.read() as tx:
            self.require_in_project(tx, who, Action.DATASET_READ, project, EntityKind.DATASET, name)
            if tx.datasets.dataset_id(project, name) is None:
                raise NotFound(f"no dataset {name!r} in project {project!r}")
            return tx.datasets.versions(project, name)

    def lineage(self, who: Principal, project: str, ref: str) -> LineageNode:
        """The version with its parents (recursively, with producer and source) and its
        children and the runs that used each (recursively)."""
        with self.read() as tx:
            self.require_in_project(tx, who, Action.DATASET_READ, project, EntityKind.DATASET, ref)
            vid, version = self._find(tx, project, ref, allow_quarantined=True)
            root = _node(version)
            root.parents = _upstream(tx, vid, 0)
            root.children = _downstream(tx, vid, 0)
            root.runs = tx.datasets.runs_using(vid)
            return root

    # mutations ---------------------------------------------------------------------------
    def release(self, who: Principal, project: str, ref: str, reason: str) -> DatasetVersion:
        """Let readers use a quarantined version, with the reason it may be used."""
        return self._change(who, project, ref, reason, Action.DATASET_RELEASE)

    def quarantine(self, who: Principal, project: str, ref: str, reason: str) -> DatasetVersion:
        """Refuse a version to readers again: undo a release, or stop data whose problem its
        contract did not catch. Runs that used it keep their lineage."""
        return self._change(who, project, ref, reason, Event.DATASET_QUARANTINE)

    def deprecate(self, who: Principal, project: str, ref: str, reason: str) -> DatasetVersion:
        """Keep a version readable (readers are warned) but refuse new uses of it by runs, and
        stop resolving the bare dataset name to it."""
        return self._change(who, project, ref, reason, Event.DATASET_DEPRECATE)

    def undeprecate(self, who: Principal, project: str, ref: str, reason: str) -> DatasetVersion:
        """Withdraw a deprecation."""
        return self._change(who, project, ref, reason, Event.DATASET_UNDEPRECATE)

    def _change(
        self, who: Principal, project: str, ref: str, reason: str, change: Action | Event
    ) -> DatasetVersion:
        verb = _VERBS[change]
        r = parse_ref(ref)
        if r.version is None:
            raise InvalidInput(f"name the version to {verb}, e.g. {r.name}@4, not {ref!r}")
        reason = _reason(f"{verb} a dataset version", reason)
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.DATASET_RELEASE, project, EntityKind.DATASET, str(r)
            )
            vid, version = self._find(tx, project, str(r), allow_quarantined=True)
            now = utcnow()
            payload: dict[str, Any] = {"reason": reason}
            if change is Action.DATASET_RELEASE:
                if version.status is not DatasetStatus.QUARANTINED:
                    raise Conflict(f"{version.ref} is {version.status.value}, not quarantined")
                tx.datasets.release(vid, who.user, now, reason)
                payload["failed_checks"] = version.failed_checks()
            elif change is Event.DATASET_QUARANTINE:
                if version.status is DatasetStatus.QUARANTINED:
                    raise Conflict(f"{version.ref} is quarantined already")
                tx.datasets.quarantine(vid, who.user, now, reason)
                payload["was"] = version.status.value
                if version.release_reason:
                    payload["release_reason"] = version.release_reason
            elif change is Event.DATASET_DEPRECATE:
                if version.deprecated:
                    raise Conflict(
                        f"{version.ref} was deprecated already, by {version.deprecated_by}: "
                        f"{version.deprecation_reason}"
                    )
                tx.datasets.deprecate(vid, who.user, now, reason)
            else:
                if not version.deprecated:
                    raise Conflict(f"{version.ref} is not deprecated")
                tx.datasets.deprecate(vid, None, None, None)
                payload["deprecation_reason"] = version.deprecation_reason
            self.record(tx, who, roles, change, project, EntityKind.DATASET, version.ref, payload)
            found = tx.datasets.find_version(project, r.name, r.version, True)
            assert found is not None
            return found[1]

    # trusted custom checks ---------------------------------------------------------------
    def installed_checks(self, who: Principal) -> dict[str, str]:
        """The custom checks this server may run (`module:function` -> where declared): its
        allow-list, from entry points of group relayml_checks and RELAY_TRUSTED_CHECKS."""
        from relayml.contracts.trusted import installed_checks

        del who  # any signed-in user may see what the server can run
        return installed_checks()

    def list_trusted_checks(self, who: Principal, project: str) -> list[TrustedCheck]:
        """The custom checks the project's published contracts may run."""
        from relayml.contracts.trusted import installed_checks

        with self.read() as tx:
            self.require_in_project(
                tx, who, Action.DATASET_READ, project, EntityKind.PROJECT, project
            )
            found = tx.datasets.trusted_checks(project)
        installed = installed_checks()
        return [replace(c, installed=c.ref in installed) for c in found]

    def trust_check(self, who: Principal, project: str, ref: str, reason: str) -> TrustedCheck:
        """Let the project's published contracts run an installed custom check (admin)."""
        from relayml.contracts.trusted import check_ref, installed_checks

        check_ref(ref)
        reason = _reason("trust a check", reason)
        installed = installed_checks()
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.CHECK_TRUST, project, EntityKind.PROJECT, project
            )
            if ref not in installed:
                known = ", ".join(installed) or "none"
                raise Unprocessable(
                    f"{ref} is not installed on this server, so it cannot be trusted: a check "
                    "is installed by a package's entry point (group relayml_checks) or by the "
                    f"server's RELAY_TRUSTED_CHECKS. Installed: {known}"
                )
            if any(c.ref == ref for c in tx.datasets.trusted_checks(project)):
                raise Conflict(f"{ref} is trusted in project {project!r} already")
            check = TrustedCheck(project, ref, reason, who.user, utcnow())
            tx.datasets.trust_check(check)
            payload = {"ref": ref, "reason": reason, "installed_by": installed[ref]}
            self.record(
                tx, who, roles, Action.CHECK_TRUST, project, EntityKind.PROJECT, project, payload
            )
            return check

    def untrust_check(self, who: Principal, project: str, ref: str, reason: str) -> None:
        """Stop the project's published contracts from running a check (admin). Versions it
        checked keep their reports; a new publish naming it is refused."""
        from relayml.contracts.trusted import check_ref

        check_ref(ref)
        reason = _reason("stop trusting a check", reason)
        with self.write() as tx:
            roles = self.require_in_project(
                tx, who, Action.CHECK_TRUST, project, EntityKind.PROJECT, project
            )
            if not tx.datasets.untrust_check(project, ref):
                raise NotFound(
                    f"{ref} is not trusted in project {project!r}; see: relay contracts trusted"
                )
            payload = {"ref": ref, "reason": reason}
            self.record(
                tx, who, roles, Event.CHECK_UNTRUST, project, EntityKind.PROJECT, project, payload
            )

    def use(
        self, who: Principal, run_id: str, ref: str, allow_quarantined: bool = False
    ) -> DatasetVersion:
        """Record that the run used a version (lineage); refused for quarantined data."""
        check_run_id(run_id)
        with self.write() as tx:
            project, roles = self.require_run_writer(
                tx, who, Action.RUN_UPDATE, run_id, "dataset uses"
            )
            self.require(tx, who, Action.DATASET_READ, project, EntityKind.DATASET, ref)
            vid, version = self._find(tx, project, ref, allow_quarantined)
            if version.deprecated:
                raise deprecated_error(version)
            tx.datasets.add_use(vid, run_id, who.user, utcnow())
            tx.tracking.log(run_id, tags={f"relay.dataset.{version.name}": version.ref})
            payload = {"dataset": version.ref, "digest": version.digest}
            self.record(tx, who, roles, Event.DATASET_USE, project, EntityKind.RUN, run_id, payload)
            return version


def _reason(doing: str, reason: str) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput(f"to {doing}, give a reason (it is kept and shown)")
    return check_text("reason", reason.strip())


_VERBS: dict[Action | Event, str] = {
    Action.DATASET_RELEASE: "release",
    Event.DATASET_QUARANTINE: "quarantine",
    Event.DATASET_DEPRECATE: "deprecate",
    Event.DATASET_UNDEPRECATE: "undeprecate",
}


def deprecated_error(version: DatasetVersion) -> Unprocessable:
    return Unprocessable(
        f"{version.ref} is deprecated (by {version.deprecated_by}: "
        f"{version.deprecation_reason}); new uses are refused. Use a newer version (relay "
        f"datasets versions {version.name}), or ask a data engineer to withdraw the "
        f"deprecation (relay datasets undeprecate {version.ref} --reason TEXT)",
        ref=version.ref,
    )


def quarantined_error(version: DatasetVersion) -> Unprocessable:
    checks = ", ".join(version.failed_checks()) or "an error check"
    return Unprocessable(
        f"{version.ref} is quarantined: it failed {checks} of its contract. A data engineer "
        f"can release it (relay datasets release {version.ref} --reason TEXT), or read it "
        "anyway with allow_quarantined=True (CLI: --allow-quarantined)",
        ref=version.ref,
        failed_checks=version.failed_checks(),
    )


def _producer(producer: dict[str, str] | None) -> dict[str, str] | None:
    if not producer:
        return None
    run = str(producer.get("pipeline_run") or "")
    step = str(producer.get("step") or "")
    if not run or len(step) > 250:
        raise InvalidInput(f"invalid producer {producer!r}: need pipeline_run and step")
    check_run_id(run)
    return {"pipeline_run": run, "step": step}


def _check_producer(tx: Transaction, project: str, producer: dict[str, str]) -> None:
    """The producing pipeline run must exist in the dataset's project, with that step."""
    run_id, step = producer["pipeline_run"], producer["step"]
    run = tx.pipelines.get_run(run_id)
    if run is None or run.project != project:
        raise NotFound(
            f"no pipeline run {run_id!r} in project {project!r} to name as the producer; list "
            f"them with: relay pipelines runs -p {project}"
        )
    if step and step not in {s.name for s in run.steps}:
        raise NotFound(f"pipeline run {run_id} has no step {step!r} to name as the producer")


def _node(v: DatasetVersion) -> LineageNode:
    return LineageNode(v.ref, v.status, v.source, v.producer)


def _upstream(tx: Transaction, vid: int, depth: int) -> list[LineageNode]:
    if depth >= MAX_DEPTH:
        return []
    nodes = []
    for pid, parent in tx.datasets.parents(vid):
        node = _node(parent)
        node.parents = _upstream(tx, pid, depth + 1)
        nodes.append(node)
    return nodes


def _downstream(tx: Transaction, vid: int, depth: int) -> list[LineageNode]:
    if depth >= MAX_DEPTH:
        return []
    nodes = []
    for cid, child in tx.datasets.children(vid):
        node = _node(child)
        node.children = _downstream(tx, cid, depth + 1)
        node.runs = tx.datasets.runs_using(cid)
        nodes.append(node)
    return nodes


# --- the streaming passes -------------------------------------------------------------------


class _Contract:
    """The optional contract: parsed once, fed every batch, its report kept as a dict."""

    def __init__(self, text: str | None, project: str, trusted: list[str]) -> None:
        self.text: str | None = None
        self.digest: str | None = None
        self.validator: Any = None
        if not text:
            return
        from relayml.contracts import Validator, contract_from_yaml
        from relayml.contracts.trusted import installed_checks

        # Code a contract names (custom checks) runs here only if an admin trusted it in the
        # project and the server has it installed; trust_code stays off.
        installed = installed_checks()
        runnable = [ref for ref in trusted if ref in installed]
        hint = (
            f"a check runs on published data once it is installed on the server and an admin "
            f"of project {project!r} trusts it (relay contracts trust MODULE:FUNCTION --reason "
            "TEXT; see relay contracts trusted)"
        )
        contract = contract_from_yaml(
            text, trusted=runnable, untrusted_hint=hint, origin="the dataset's contract"
        )
        self.text = contract.to_yaml()
        self.digest = contract.digest
        self.validator = Validator(contract)

    def update(self, batch: Any) -> None:
        if self.validator is not None:
            self.validator.update(batch)

    def report(self) -> dict[str, Any] | None:
        if self.validator is None:
            return None
        result: dict[str, Any] = self.validator.report().to_dict()
        return result


class _Scan:
    def __init__(self, path: Path) -> None:
        from relayml.stats.profile import Profiler
        from relayml.tables.parquet import ContentDigest, read_batches, schema_fields

        self.path_schema, self.batches = read_batches(path)
        self.schema = schema_fields(self.path_schema)
        self.hasher = ContentDigest(self.path_schema)
        self.profiler = Profiler(self.path_schema)
        self.size = path.stat().st_size
        self.rows = 0
        self.digest = ""
        self.profile: dict[str, Any] = {}
        self.sketch: dict[str, Any] = {}

    def bin_pass(self, path: Path) -> None:
        from relayml.tables.parquet import read_batches

        self.profiler.start_bins()
        if self.profiler.needs_bins:  # reading only the binned columns (no strings)
            for batch in read_batches(path, self.profiler.bin_columns)[1]:
                self.profiler.update_bins(batch)
        self.profile = self.profiler.profile()
        self.sketch = self.profiler.sketch().to_dict()


def _scan(path: Path, contract: _Contract) -> _Scan:
    """Pass one: digest, contract validation and profile counts, one batch at a time."""
    scan = _Scan(path)
    for batch in scan.batches:
        scan.hasher.update(batch)
        scan.profiler.update(batch)
        contract.update(batch)
        scan.rows += batch.num_rows
    scan.digest = scan.hasher.hexdigest()
    return scan
