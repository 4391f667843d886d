"""Versioned datasets as the SDK user sees them: `relay.datasets.publish/get/...` and `Dataset`.

The input is streamed into a normalized Parquet file on this machine, then handed to the
backend; the service (in-process or on the server) validates, profiles and registers it.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from relayml.client.base import Backend
from relayml.domain.datasets import (
    DatasetDiff,
    DatasetInfo,
    DatasetStatus,
    DatasetVersion,
    LineageNode,
    TrustedCheck,
    diff_versions,
)
from relayml.domain.refs import parse_ref
from relayml.errors import InvalidInput, NotFound
from relayml.scratch import scratch_dir
from relayml.sdk import session as _session
from relayml.sdk.lineage import current_step

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

ProgressFn = Callable[[int, int | None], None]  # (rows written, total rows if known)


class DatasetDeprecationWarning(UserWarning):
    """Reading a dataset version a data engineer deprecated: it still reads, but runs may no
    longer use it; the message says who deprecated it and why."""


def _warn_if_deprecated(v: DatasetVersion) -> None:
    if v.deprecated_at is not None:
        warnings.warn(
            f"{v.ref} is deprecated (by {v.deprecated_by}: {v.deprecation_reason}); runs may "
            "no longer use it",
            DatasetDeprecationWarning,
            stacklevel=3,
        )


class Dataset:
    """One immutable dataset version: its metadata now, its data on demand."""

    def __init__(
        self, backend: Backend, version: DatasetVersion, *, allow_quarantined: bool = False
    ) -> None:
        self._backend = backend
        self._v = version
        self._allow = allow_quarantined

    project = property(lambda self: self._v.project)
    name = property(lambda self: self._v.name)
    version = property(lambda self: self._v.version)
    ref = property(lambda self: self._v.ref)
    digest = property(lambda self: self._v.digest)
    rows = property(lambda self: self._v.rows)
    size = property(lambda self: self._v.size)
    description = property(lambda self: self._v.description)
    source = property(lambda self: self._v.source)
    contract = property(lambda self: self._v.contract)

    @property
    def status(self) -> DatasetStatus:
        return self._v.status

    @property
    def deprecated(self) -> bool:
        """Deprecated by a data engineer: readable, but runs may no longer use it."""
        return self._v.deprecated

    @property
    def schema(self) -> list[dict[str, Any]]:
        """Columns as ``{"name", "type", "nullable"}``."""
        return [dict(c) for c in self._v.schema]

    @property
    def profile(self) -> dict[str, Any]:
        """Per column: type, count, missing, distinct, min/max/mean/std, quantiles,
        histogram, top categories (see docs/data-engineer.md for their accuracy)."""
        return dict(self._v.profile)

    @property
    def quality(self) -> Any:
        """The contract's validation report (a ``QualityReport``), or None without a contract."""
        if self._v.quality is None:
            return None
        try:
            from relayml.contracts import QualityReport
        except ImportError:  # pragma: no cover - the contracts module ships with Relay
            return dict(self._v.quality)
        return QualityReport.from_dict(self._v.quality)

    @property
    def parents(self) -> list[str]:
        return list(self._v.parents)

    @property
    def producer(self) -> dict[str, str] | None:
        return dict(self._v.producer) if self._v.producer else None

    @property
    def created_at(self) -> datetime:
        return self._v.created_at

    @property
    def created_by(self) -> str:
        return self._v.created_by

    @property
    def record(self) -> DatasetVersion:
        return self._v

    # data ---------------------------------------------------------------------------------
    def path(self) -> Path:
        """A local copy of the version's Parquet file (downloaded once, verified, cached)."""
        from relayml.config import Settings

        cache = Settings.from_env().home / "cache" / "datasets"
        target = cache / f"{self._v.blob}.parquet"
        if not target.exists():
            self._backend.datasets.download(self.project, self.ref, target, self._allow)
        return target

    def to_arrow(self, columns: list[str] | None = None) -> pa.Table:
        import pyarrow.parquet as pq

        return pq.read_table(self.path(), columns=columns)

    def to_pandas(self, columns: list[str] | None = None) -> pd.DataFrame:
        frame: pd.DataFrame = self.to_arrow(columns).to_pandas()
        return frame

    def to_polars(self, columns: list[str] | None = None) -> Any:
        """The data as a ``polars.DataFrame`` (polars reads the Parquet file itself)."""
        try:
            import polars as pl
        except ImportError:
            raise InvalidInput(
                "to_polars needs polars, which is not installed: pip install polars"
            ) from None
        return pl.read_parquet(self.path(), columns=columns)

    def iter_batches(
        self, batch_size: int = 65_536, columns: list[str] | None = None
    ) -> Iterator[pa.RecordBatch]:
        """Stream the data in record batches (memory stays bounded by one batch)."""
        from relayml.tables.parquet import open_parquet

        with open_parquet(self.path()) as pf:
            yield from pf.iter_batches(batch_size=batch_size, columns=columns)

    def lineage(self) -> LineageNode:
        return self._backend.datasets.lineage(self.project, self.ref)

    def to_dict(self) -> dict[str, Any]:
        """The version as JSON-able data, as the REST API writes it."""
        from relayml.wire.datasets import DatasetVersionOut

        return DatasetVersionOut.from_domain(self._v).model_dump(mode="json")

    def __repr__(self) -> str:
        return f"<Dataset {self.project}/{self.ref} {self.rows} rows {self.status.value}>"


def _backend(project: str | None, backend: Backend | None = None) -> tuple[Backend, str]:
    """The given backend (server-side callers, the CLI) or the process session's."""
    if backend is not None:
        if project is None:
            raise InvalidInput(
                "a dataset read through an explicit backend needs its project: pass project="
            )
        return backend, project
    sess = _session.current()
    return sess.backend, project or sess.project


def _contract(contract: Any) -> tuple[str | None, dict[str, str]]:
    """The contract (path, dict, YAML text or Contract) as YAML text, and the types it gives
    CSV columns (None and {} without a contract)."""
    if contract is None:
        return None, {}
    from relayml.contracts import load_contract
    from relayml.contracts.dtypes import read_types

    spec = load_contract(contract)
    text: str = spec.to_yaml()
    return text, read_types(spec)


def publish(
    name: str,
    data: Any,
    *,
    contract: Any = None,
    description: str = "",
    source: str = "",
    parents: list[Dataset | str] | None = None,
    project: str | None = None,
    progress: ProgressFn | None = None,
    dtypes: Mapping[str, str] | None = None,
) -> Dataset:
    """Publish ``data`` (pandas/polars DataFrame, pyarrow Table or RecordBatchReader, Parquet
    or CSV path) as the next version of dataset ``name``. Identical content returns the
    existing version. A version that fails an error check of ``contract`` is quarantined.

    A CSV file's columns are read with the contract's types; ``dtypes`` (column -> type name:
    ``{"zip": "string", "age": "int64"}``) names types for a CSV file, with or without a
    contract (they win over its types); other columns' types are inferred from the file's
    first 16 MB."""
    backend, proj = _backend(project)
    return publish_to(
        backend,
        proj,
        name,
        data,
        contract=contract,
        description=description,
        source=source,
        parents=parents,
        progress=progress,
        dtypes=dtypes,
    )


def publish_to(
    backend: Backend,
    project: str,
    name: str,
    data: Any,
    *,
    contract: Any = None,
    description: str = "",
    source: str = "",
    parents: list[Dataset | str] | None = None,
    progress: ProgressFn | None = None,
    uploading: Callable[[], None] | None = None,
    dtypes: Mapping[str, str] | None = None,
) -> Dataset:
    """`publish` through the given backend (the CLI's): ``uploading`` is called once the local
    Parquet file is written, when the upload, validation and profiling start."""
    from relayml.tables.parquet import input_rows, write_normalized

    step = current_step.get()
    if parents is None and step is not None:
        parents = list(step.inputs)
    parent_refs = [p.ref if isinstance(p, Dataset) else str(p) for p in parents or []]
    producer = {"pipeline_run": step.pipeline_run_id, "step": step.step} if step else None
    text, contract_types = _contract(contract)
    total = input_rows(data)
    report: Callable[[int], None] | None = None
    if progress is not None:
        report = lambda rows: progress(rows, total)  # noqa: E731
    with scratch_dir("publish") as tmp:
        path = tmp / "data.parquet"
        write_normalized(data, path, report, dtypes=dtypes, contract_types=contract_types)
        if uploading is not None:
            uploading()
        version = backend.datasets.publish(
            project,
            name,
            path,
            contract=text,
            description=description,
            source=str(source or ""),
            parents=parent_refs,
            producer=producer,
        )
    return Dataset(backend, version)


def get(
    ref: str | Dataset,
    version: int | str | None = None,
    *,
    project: str | None = None,
    allow_quarantined: bool = False,
    backend: Backend | None = None,
) -> Dataset:
    """``get("loans@3")``, ``get("loans", version=3)``, ``get("loans")`` (the latest usable).
    A quarantined version is refused unless ``allow_quarantined=True``."""
    backend, proj = _backend(project, backend)
    text = ref.ref if isinstance(ref, Dataset) else ref
    r = parse_ref(text, version)
    found = backend.datasets.get(proj, str(r), allow_quarantined)
    _warn_if_deprecated(found)
    return Dataset(backend, found, allow_quarantined=allow_quarantined)


def list_datasets(project: str | None = None) -> list[DatasetInfo]:
    backend, proj = _backend(project)
    return backend.datasets.list_datasets(proj)


def versions(name: str, *, project: str | None = None) -> list[Dataset]:
    backend, proj = _backend(project)
    return [Dataset(backend, v) for v in backend.datasets.versions(proj, name)]


def lineage(ref: str | Dataset, *, project: str | None = None) -> LineageNode:
    backend, proj = _backend(project)
    return backend.datasets.lineage(proj, ref.ref if isinstance(ref, Dataset) else ref)


def diff(
    a: str | Dataset,
    b: str | Dataset,
    *,
    project: str | None = None,
    backend: Backend | None = None,
) -> DatasetDiff:
    """Schema and profile differences from version ``a`` to version ``b``."""
    backend, proj = _backend(project, backend)
    va = backend.datasets.get(proj, a.ref if isinstance(a, Dataset) else a, True)
    vb = backend.datasets.get(proj, b.ref if isinstance(b, Dataset) else b, True)
    return diff_versions(va, vb)


def release(ref: str | Dataset, reason: str, *, project: str | None = None) -> Dataset:
    """Release a quarantined version for use, recording who and why (audited)."""
    backend, proj = _backend(project)
    found = backend.datasets.release(proj, ref.ref if isinstance(ref, Dataset) else ref, reason)
    return Dataset(backend, found)


def quarantine(ref: str | Dataset, reason: str, *, project: str | None = None) -> Dataset:
    """Refuse a version to readers again (undo a release), recording who and why (audited)."""
    backend, proj = _backend(project)
    text = ref.ref if isinstance(ref, Dataset) else ref
    return Dataset(backend, backend.datasets.quarantine(proj, text, reason))


def deprecate(ref: str | Dataset, reason: str, *, project: str | None = None) -> Dataset:
    """Deprecate a version: readers are warned, runs may no longer use it (audited)."""
    backend, proj = _backend(project)
    text = ref.ref if isinstance(ref, Dataset) else ref
    return Dataset(backend, backend.datasets.deprecate(proj, text, reason))


def undeprecate(ref: str | Dataset, reason: str, *, project: str | None = None) -> Dataset:
    """Withdraw a version's deprecation (audited)."""
    backend, proj = _backend(project)
    text = ref.ref if isinstance(ref, Dataset) else ref
    return Dataset(backend, backend.datasets.undeprecate(proj, text, reason))


def trusted_checks(*, project: str | None = None) -> list[TrustedCheck]:
    """The custom checks the project's published contracts may run."""
    backend, proj = _backend(project)
    return backend.datasets.list_trusted_checks(proj)


def trust_check(ref: str, reason: str, *, project: str | None = None) -> TrustedCheck:
    """Let the project's published contracts run an installed custom check (admin; audited)."""
    backend, proj = _backend(project)
    return backend.datasets.trust_check(proj, ref, reason)


def untrust_check(ref: str, reason: str, *, project: str | None = None) -> None:
    """Stop the project's published contracts from running a check (admin; audited)."""
    backend, proj = _backend(project)
    backend.datasets.untrust_check(proj, ref, reason)


# --- drift -----------------------------------------------------------------------------------


def is_dataset_ref(value: Any) -> bool:
    """A string like ``loans@3`` that is not an existing file."""
    return isinstance(value, str) and "@" in value and not os.path.exists(value)


def load_for_drift(
    ref: str,
    *,
    summary_ok: bool,
    backend: Backend | None = None,
    project: str | None = None,
) -> Any:
    """A dataset version for ``relay.drift.compare``: its stored drift summary when that can
    serve (``summary_ok``), else its data as a pyarrow Table."""
    backend, proj = _backend(project, backend)
    try:
        if summary_ok:
            sketch: Mapping[str, Any] = backend.datasets.sketch(proj, ref)
            return sketch
        return get(ref, project=proj, backend=backend).to_arrow()
    except NotFound as exc:
        raise InvalidInput(
            f"{ref!r} is neither an existing file nor a dataset version in project {proj!r} "
            f"({exc.message}); give a Parquet path or a published version like loans@3"
        ) from None
