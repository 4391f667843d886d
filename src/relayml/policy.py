"""The project's promotion policy, as code: ``relay.policy.apply("policy.yaml")``, ``show()``."""

from __future__ import annotations

from relayml.sdk.models import apply_policy as apply
from relayml.sdk.models import show_policy as show

__all__ = ["apply", "show"]
