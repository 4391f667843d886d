"""Relay: an MLOps platform organised around the people of the ML lifecycle.

    import relayml as relay
    relay.init(project="churn")
    with relay.start_run(experiment="baseline", params={"C": 1.0}) as run:
        run.log_metric("loss", 0.31)

Heavy modules load on first use, so `import relayml` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from relayml.errors import (
    Conflict,
    FilterSyntaxError,
    IntegrityError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RelayError,
    Unauthenticated,
    Unprocessable,
    UserCodeError,
)
from relayml.version import __version__

__all__ = [
    "ActiveRun",
    "Conflict",
    "Dataset",
    "FilterSyntaxError",
    "IntegrityError",
    "InvalidInput",
    "NotFound",
    "PermissionDenied",
    "RelayError",
    "Run",
    "Unauthenticated",
    "Unprocessable",
    "UserCodeError",
    "__version__",
    "active_run",
    "autolog",
    "datasets",
    "deployments",
    "drift",
    "gc",
    "get_run",
    "inbox",
    "init",
    "loops",
    "models",
    "monitors",
    "pipeline",
    "pipelines",
    "policy",
    "requests",
    "roles",
    "search_runs",
    "start_run",
    "step",
    "webhooks",
]

if TYPE_CHECKING:
    from relayml import (
        datasets,
        deployments,
        drift,
        loops,
        models,
        monitors,
        pipelines,
        policy,
        requests,
        roles,
        webhooks,
    )
    from relayml.pipelines.dag import pipeline, step
    from relayml.sdk.autolog import autolog
    from relayml.sdk.datasets import Dataset
    from relayml.sdk.models import inbox
    from relayml.sdk.run import ActiveRun, Run, active_run, get_run, search_runs, start_run
    from relayml.sdk.session import init
    from relayml.sdk.storage import gc

_LAZY = {
    "ActiveRun": "relayml.sdk.run",
    "Dataset": "relayml.sdk.datasets",
    "Run": "relayml.sdk.run",
    "active_run": "relayml.sdk.run",
    "autolog": "relayml.sdk.autolog",
    "get_run": "relayml.sdk.run",
    "search_runs": "relayml.sdk.run",
    "start_run": "relayml.sdk.run",
    "init": "relayml.sdk.session",
    "gc": "relayml.sdk.storage",
    "inbox": "relayml.sdk.models",
    "pipeline": "relayml.pipelines.dag",
    "step": "relayml.pipelines.dag",
}


def __getattr__(name: str) -> Any:
    import importlib

    if name == "drift":
        return importlib.import_module("relayml.drift")
    if name == "datasets":
        return importlib.import_module("relayml.datasets")
    if name == "pipelines":
        return importlib.import_module("relayml.pipelines")
    if name in (
        "webhooks",
        "models",
        "requests",
        "policy",
        "deployments",
        "roles",
        "loops",
        "monitors",
    ):
        return importlib.import_module(f"relayml.{name}")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'relayml' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
