"""The backend contract: behaviour every Backend (local+SQLite, local+PostgreSQL, http) must show.

One file per area (`contract_<area>.py`, a class calling every operation of that area as
`backend.<area>.<op>(...)`; a large one continues in `contract_<area>_<concept>.py`, a class of
its own); tests/test_contract.py joins the classes and provides a `contract` fixture yielding a
`ContractEnv` for each backend, as Dagster does for its storages.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from relayml.client.base import Backend
from relayml.domain.tracking import MetricPoint


@dataclass
class ContractEnv:
    kind: str
    admin: Backend
    connect: Callable[[str], Backend]
    opened: list[Backend] = field(default_factory=list)

    def new_project(self) -> str:
        name = f"p-{uuid.uuid4().hex[:10]}"
        self.admin.identity.create_project(name)
        return name

    def as_role(self, project: str, *roles: str) -> Backend:
        issued = self.admin.identity.create_user(f"u-{uuid.uuid4().hex[:10]}", list(roles), project)
        backend = self.connect(issued.token)
        self.opened.append(backend)
        return backend


def _pts(key: str, values: list[float], start: int = 0) -> list[MetricPoint]:
    return [MetricPoint(key, v, start + i, 1_700_000_000_000 + i) for i, v in enumerate(values)]
