"""A project's webhooks: ``relay.webhooks.add / list / remove / deliveries / redeliver``.

    import relayml as relay
    added = relay.webhooks.add("https://hooks.example.com/relay")
    added.secret                     # shown once: the receiver verifies signatures with it
    relay.webhooks.deliveries()      # what was sent, how many attempts, the last status
    relay.webhooks.redeliver(id)     # send one again now (after a receiver's outage)

See docs/webhooks.md.
"""

from __future__ import annotations

from relayml.sdk.webhooks import add, deliveries, redeliver, remove
from relayml.sdk.webhooks import list_webhooks as list

__all__ = ["add", "deliveries", "list", "redeliver", "remove"]
