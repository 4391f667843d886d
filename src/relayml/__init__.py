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

__version__ = "0.1.0"

__all__ = [
    "ActiveRun",
    "Conflict",
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
    "drift",
    "get_run",
    "init",
    "search_runs",
    "start_run",
]

if TYPE_CHECKING:
    from relayml import drift
    from relayml.sdk.run import ActiveRun, Run, active_run, get_run, search_runs, start_run
    from relayml.sdk.session import init

_LAZY = {
    "ActiveRun": "relayml.sdk.run",
    "Run": "relayml.sdk.run",
    "active_run": "relayml.sdk.run",
    "get_run": "relayml.sdk.run",
    "search_runs": "relayml.sdk.run",
    "start_run": "relayml.sdk.run",
    "init": "relayml.sdk.session",
}


def __getattr__(name: str) -> Any:
    import importlib

    if name == "drift":
        return importlib.import_module("relayml.drift")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'relayml' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
