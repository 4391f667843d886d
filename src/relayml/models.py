"""The model registry: ``relay.models.register / load / promote / evaluate / set_alias ...``

    import relayml as relay
    mv = relay.models.register("churn", model, run=run, input_example=X[:5])
    m = relay.models.load("churn@champion"); m.predict(df)
    req = relay.models.promote("churn@3", to="production", note="beats v2 on the holdout")
    relay.models.score("churn@production", "input.parquet", "scored.parquet")

See docs/ml-engineer.md and docs/governance.md.
"""

from __future__ import annotations

from relayml.scoring import score
from relayml.sdk.models import (
    archive,
    card,
    evaluate,
    get,
    golden,
    history,
    load,
    promote,
    register,
    report,
    requirements,
    set_alias,
    set_card,
    set_requirement,
    tag,
    versions,
)
from relayml.sdk.models import list_models as list

__all__ = [
    "archive",
    "card",
    "evaluate",
    "get",
    "golden",
    "history",
    "list",
    "load",
    "promote",
    "register",
    "report",
    "requirements",
    "score",
    "set_alias",
    "set_card",
    "set_requirement",
    "tag",
    "versions",
]
