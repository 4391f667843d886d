"""How domain objects cross the wire as JSON, both ways (the server encodes, the http client
decodes, the CLI's `--json` prints the same).

One pydantic module per area (`wire/<area>.py`): each model builds itself from its domain
object (`from_domain`) and builds it back (`to_domain`), with no dict in between.
`wire/common.py` holds what they share: the base model, times, the one rule for non-finite
numbers. No web framework here: the http client imports this without pulling in FastAPI.
"""

from __future__ import annotations

DIGEST_HEADER = "X-Relay-Digest"
"""The sha256 of an artifact's bytes: sent with an upload, returned with a download."""
