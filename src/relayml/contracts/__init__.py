"""Data contracts: declare what a dataset must look like, validate data against it.

    from relayml.contracts import load_contract, validate
    report = validate("loans.parquet", load_contract("contracts/loans.yaml"))
    report.passed, report.summary()

The model (`spec`), the YAML parser (`parse`) and the report are light; the engine and
`infer_contract` import pyarrow and load on first use. See docs/data-contracts.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from relayml.contracts.parse import contract_from_yaml, load_contract
from relayml.contracts.report import CheckResult, QualityReport
from relayml.contracts.spec import (
    Column,
    Contract,
    CustomCheck,
    Freshness,
    RowCount,
    UniqueKey,
)

__all__ = [
    "CheckResult",
    "Column",
    "Contract",
    "CustomCheck",
    "Freshness",
    "QualityReport",
    "RowCount",
    "UniqueKey",
    "Validator",
    "contract_from_yaml",
    "infer_contract",
    "load_contract",
    "validate",
]

if TYPE_CHECKING:
    from relayml.contracts.engine import Validator, validate
    from relayml.contracts.infer import infer_contract

_LAZY = {
    "Validator": "relayml.contracts.engine",
    "validate": "relayml.contracts.engine",
    "infer_contract": "relayml.contracts.infer",
}


def __getattr__(name: str) -> Any:
    import importlib

    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'relayml.contracts' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
