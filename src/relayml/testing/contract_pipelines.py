"""The backend contract for pipelines: see BackendContract in contract.py."""

from __future__ import annotations


class PipelineContract:
    pass
