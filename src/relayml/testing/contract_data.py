"""The backend contract for datasets: see BackendContract in contract.py."""

from __future__ import annotations


class DataContract:
    pass
