"""relay.drift.compare from server-side code: dataset versions through an explicit backend,
with no SDK session in the process."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import relayml.drift as drift
from relayml.client.local import LocalBackend
from relayml.errors import InvalidInput
from relayml.sdk import session
from relayml.sdk.datasets import publish_to
from relayml.services import open_services


def test_compare_reads_dataset_versions_through_an_explicit_backend(
    sdk_home: Path,
) -> None:
    services = open_services(
        f"sqlite:///{sdk_home / 'server.db'}", (sdk_home / "artifacts").as_uri()
    )
    try:
        backend = LocalBackend(services, services.identity.provision_local("monitor"))
        backend.identity.ensure_project("shop")
        rng = np.random.default_rng(7)
        ref = pd.DataFrame(
            {"x": rng.normal(0, 1, 5000), "c": rng.choice(["a", "b"], 5000), "id": range(5000)}
        )
        cur = pd.DataFrame(
            {
                "x": rng.normal(2, 1, 5000),
                "c": rng.choice(["a", "b"], 5000),
                "id": range(9000, 14000),
            }
        )
        publish_to(backend, "shop", "orders", ref)
        publish_to(backend, "shop", "orders", cur)

        report = drift.compare("orders@1", "orders@2", backend=backend, project="shop")

        assert report.drifted == ["x"]
        assert report.skipped == {"id": "id-like (unique on every row)"}  # from the stored sketch
        assert session._current is None  # no process-global session was opened
        assert not (sdk_home / ".relay" / "relay.db").exists()  # nor its embedded store
        with pytest.raises(InvalidInput, match="project="):
            drift.compare("orders@1", cur, backend=backend)
    finally:
        services.close()
