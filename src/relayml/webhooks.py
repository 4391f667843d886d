"""A project's webhooks: ``relay.webhooks.add / list / remove / deliveries``.

    import relayml as relay
    added = relay.webhooks.add("https://hooks.example.com/relay")
    added.secret                     # shown once: the receiver verifies signatures with it
    relay.webhooks.deliveries()      # what was sent, how many attempts, the last status

See docs/webhooks.md.
"""

from __future__ import annotations

from relayml.sdk.webhooks import add, deliveries, remove
from relayml.sdk.webhooks import list_webhooks as list

__all__ = ["add", "deliveries", "list", "remove"]
