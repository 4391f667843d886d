"""Custom checks that tests import by reference (`tests.contracts.helpers:...`)."""

from __future__ import annotations

from typing import Any

import pyarrow.compute as pc


def positive_amount(batch: Any) -> Any:
    return pc.greater(batch.column("amount"), 0)


def broken(batch: Any) -> Any:
    raise ZeroDivisionError("deliberately broken check")
