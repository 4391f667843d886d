"""A name, id or key with a trailing newline is refused like any other bad character: Python's
`$` also matches before a final "\\n", so every pattern that checks a whole value ends in `\\Z`.
A "churn\\n" project or an "acc\\n" metric would otherwise be stored as a twin of the real one
that no one can tell apart on a page."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from relayml.domain.deployments import check_prediction_id
from relayml.domain.identity import check_name
from relayml.domain.monitors import check_monitor_name
from relayml.domain.pipelines import check_step_name
from relayml.domain.refs import parse_ref
from relayml.domain.tracking import check_key
from relayml.errors import InvalidInput

CHECKS: list[tuple[str, Callable[[str], object]]] = [
    ("project name", lambda v: check_name("project", v)),
    ("user name", lambda v: check_name("user", v)),
    ("monitor name", check_monitor_name),
    ("prediction id", check_prediction_id),
    ("step name", check_step_name),
    ("metric key", lambda v: check_key("metric", v)),
]


@pytest.mark.parametrize(("what", "check"), CHECKS, ids=[w for w, _ in CHECKS])
def test_a_trailing_newline_is_refused(what: str, check: Callable[[str], object]) -> None:
    check("churn")  # the same value without it passes
    for bad in ("churn\n", "churn\r\n", "churn\n\n"):
        with pytest.raises(InvalidInput):
            check(bad)


def test_a_reference_with_a_newline_is_refused() -> None:
    with pytest.raises(InvalidInput):
        parse_ref("churn@production\n")
