"""`relay monitors` and `relay alerts` as users type them: bad input is one line naming the
value and what to write instead, with the input error's exit code, and nothing is created."""

from __future__ import annotations

import pytest

from relayml.errors import InvalidInput, NotFound
from tests.cli.conftest import Relay, one_error_line


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--window", "0"], "a window of 0 rows is out of range"),
        (["--window", str(2**63)], "out of range: 1 to 100,000,000 rows"),
        (["--window", "soon"], "invalid window 'soon'"),
        (["--window", "10s"], "out of range: whole seconds from 1m"),
        (["--alert-after", "5/3"], "persistence 5/3 is out of range"),
        (["--alert-after", "often"], "write K/N, e.g. 3/4"),
        (["--label-horizon", "0"], "label horizon"),
        (["--min-rows", "0"], "min rows must be a whole number"),
    ],
)
def test_bad_input_is_one_line(relay: Relay, args: list[str], said: str) -> None:
    result = relay("monitors", "create", "churn-api", *args)
    assert result.code == InvalidInput.exit_code
    assert said in one_error_line(result)


def test_unknown_things_say_how_to_find_the_right_ones(relay: Relay) -> None:
    made = relay("monitors", "create", "nope")
    assert made.code == NotFound.exit_code
    assert "no deployment 'nope'" in one_error_line(made) and "relay deployments ls" in made.err
    shown = relay("alerts", "show", "0" * 32)
    assert shown.code == NotFound.exit_code and "relay alerts ls" in one_error_line(shown)
    bad = relay("alerts", "ack", "not-an-id")
    assert bad.code == InvalidInput.exit_code and "not an alert id" in one_error_line(bad)
    listed = relay("monitors", "ls", "--json")
    assert listed.code == 0 and listed.json() == []
