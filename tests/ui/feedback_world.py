"""A deployment of its own for the feedback tests, so the feedback they send leaves the shared
`churn-api` (whose counts other tests check) as it was."""

from __future__ import annotations

from typing import Any

from relayml.client.http import HttpBackend
from tests.ui.conftest import PROJECT, UiWorld

DEPLOYMENT = "churn-feedback"


def feedback_deployment(world: UiWorld, data_world: Any) -> str:
    """`DEPLOYMENT` (churn@1, which data_world registered), created on first use."""
    mle = HttpBackend(world.url, world.tokens["ml_engineer"])
    try:
        if DEPLOYMENT not in {d.name for d in mle.deployments.list_deployments(PROJECT)}:
            mle.deployments.create(PROJECT, DEPLOYMENT, "churn@1", reason="feedback tests")
    finally:
        mle.close()
    return DEPLOYMENT
