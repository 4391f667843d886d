"""Step cache keys: a step whose code, inputs and parameters are unchanged reuses its output.

key = sha256 of (the step function's source, each literal argument as canonical JSON, each
upstream output's content digest). Upstream outputs enter by content, so a step re-runs only
when something it actually reads changed.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable, Mapping
from typing import Any

from relayml.pipelines.outputs import canonical_json

VERSION = "relay-step-cache-v1"


def source_digest(fn: Callable[..., Any]) -> str:
    """The function's source text; the compiled code object where the source is unavailable."""
    try:
        text = inspect.getsource(fn)
    except (OSError, TypeError):
        code = getattr(fn, "__code__", None)
        text = repr((code.co_code, code.co_consts)) if code else repr(fn)
    return hashlib.sha256(text.encode()).hexdigest()


def cache_key(
    identity: str, source: str, literals: Mapping[str, Any], inputs: Mapping[str, str]
) -> str:
    """`identity`: where the step lives; `literals`: argument → JSON value; `inputs`: argument →
    the content digest of the upstream output passed to it."""
    payload = {
        "v": VERSION,
        "step": identity,
        "source": source,
        "literals": {k: canonical_json(v) for k, v in literals.items()},
        "inputs": dict(inputs),
    }
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()
