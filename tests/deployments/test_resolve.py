"""`resolve` is what model servers poll every couple of seconds: it must stay a read of a few
statements however many arms or aliases a deployment has. Statements are counted, not timed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from relayml.domain.deployments import ArmRole, TrafficRules
from relayml.services import Services, open_services
from tests.api.test_token_cache import Statements, _queries


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    svc = open_services(f"sqlite:///{tmp_path / 'relay.db'}", str(tmp_path / "artifacts"))
    yield svc
    svc.close()


def test_resolve_is_five_statements_whatever_the_arms(services: Services, tmp_path: Path) -> None:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from relayml.flavors.formats import save_model

    admin = services.identity.provision_local("admin")
    services.identity.ensure_project(admin, "churn")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2))
    y = (x[:, 0] > 0).astype(int)
    for c in (0.1, 1.0, 10.0):
        path = tmp_path / f"m{c}.skops"
        saved = save_model(LogisticRegression(C=c).fit(x, y), path, input_example=x[:3])
        blob, _ = services.models.upload(admin, "churn", [path.read_bytes()])
        env = saved.environment.to_dict()
        services.models.register(admin, "churn", "churn", blob, flavor="sklearn", environment=env)
    services.models.set_alias(admin, "churn", "churn@1", "stable")
    services.models.set_alias(admin, "churn", "churn@3", "next")
    rules = TrafficRules("churn@next", 10, "customer_id", "churn@2")
    services.deployments.create(admin, "churn", "churn-api", "churn@stable", traffic=rules)
    count = Statements(services)
    seen: list[object] = []
    sql = count.during(
        lambda: seen.append(services.deployments.resolve(admin, "churn", "churn-api"))
    )
    # the project, the caller's grants, the role documents in force (custom roles), the
    # deployment with its model, the arms' versions
    assert len(_queries(sql)) == 5, sql
    (res,) = seen
    assert [(a.role, a.version) for a in res.arms] == [  # type: ignore[attr-defined]
        (ArmRole.PRIMARY, 1),
        (ArmRole.CANARY, 3),
        (ArmRole.SHADOW, 2),
    ]
