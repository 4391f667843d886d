"""Custom checks for the contract suite: tests/conftest.py puts them on the allow-list
(RELAY_TRUSTED_CHECKS), as an operator would list a team's own checks."""

from __future__ import annotations

from typing import Any


def positive_amount(batch: Any) -> Any:
    """True where `amount` is greater than zero."""
    import pyarrow.compute as pc

    return pc.greater(batch.column("amount"), 0)
