"""Versioned datasets: ``relay.datasets.publish / get / list / versions / lineage / diff``...

    import relayml as relay
    ds = relay.datasets.publish("loans", df, contract="contracts/loans.yaml")
    ds.ref, ds.rows, ds.profile, ds.quality, ds.status      # "loans@1", ...
    df = relay.datasets.get("loans@1").to_pandas()

See docs/data-engineer.md.
"""

from __future__ import annotations

from relayml.sdk.datasets import (
    Dataset,
    DatasetDeprecationWarning,
    deprecate,
    diff,
    get,
    lineage,
    publish,
    quarantine,
    release,
    trust_check,
    trusted_checks,
    undeprecate,
    untrust_check,
    versions,
)
from relayml.sdk.datasets import list_datasets as list

__all__ = [
    "Dataset",
    "DatasetDeprecationWarning",
    "deprecate",
    "diff",
    "get",
    "lineage",
    "list",
    "publish",
    "quarantine",
    "release",
    "trust_check",
    "trusted_checks",
    "undeprecate",
    "untrust_check",
    "versions",
]
