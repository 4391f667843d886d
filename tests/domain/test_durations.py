"""One duration syntax for step timeouts and contract freshness (they used to differ)."""

from __future__ import annotations

import pytest

import relayml as relay
from relayml.contracts import load_contract
from relayml.domain.durations import parse_duration
from relayml.errors import InvalidInput


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("250ms", 0.25),
        ("90s", 90),
        ("15m", 900),
        ("1.5h", 5400),
        ("7d", 604_800),
        ("2w", 1_209_600),
        (" 10 m ", 600),
        ("30", 30),
        (30, 30),
        (0.5, 0.5),
    ],
)
def test_units(text: str | float, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("10 minutes", "invalid duration '10 minutes'; write e.g. 90s"),
        ("soon", "invalid duration 'soon'"),
        ("", "invalid duration ''"),
        ("1y", "invalid duration '1y'"),
        (True, "invalid duration True"),
        (None, "invalid duration None"),
        (float("nan"), "invalid duration nan"),
        ("0s", "'0s' must be longer than zero"),
        (0, "0 must be longer than zero"),
        ("-5m", "'-5m' must be longer than zero"),
        (-1.0, "must be longer than zero"),
        ("5300w", "'5300w' is longer than 100 years"),
        (float("inf"), "longer than 100 years"),
        ("9" * 400 + "d", "longer than 100 years"),
    ],
)
def test_refusals_say_what_is_wrong(value: object, message: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_duration(value)  # type: ignore[arg-type]
    assert message in str(exc.value)


def _freshness(max_age: str) -> float:
    contract = load_contract(
        {"columns": {}, "checks": [{"freshness": {"column": "t", "max_age": max_age}}]}
    )
    check = contract.checks[0]
    return parse_duration(check.max_age)  # type: ignore[union-attr]


@pytest.mark.parametrize("text", ["250ms", "2w", "90", "36h"])
def test_step_timeouts_and_contract_freshness_read_durations_alike(text: str) -> None:
    """A step timeout refused "2w" and a contract refused "250ms" and "90"; both take all."""

    @relay.step(timeout=text)
    def step() -> None:
        pass

    assert step.timeout == parse_duration(text) == _freshness(text)


@pytest.mark.parametrize("text", ["-5m", "0s", "1y"])
def test_step_timeouts_and_contract_freshness_refuse_alike(text: str) -> None:
    with pytest.raises(InvalidInput, match="duration"):
        relay.step(name="s", timeout=text)(lambda: None)
    with pytest.raises(InvalidInput, match=f"max_age: .*{text}"):
        _freshness(text)
