"""The search filter grammar: parses what users write, rejects the rest with a position."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite

from relayml.domain.filters import Condition, parse_filter, parse_order_by
from relayml.errors import FilterSyntaxError, RelayError
from relayml.store.sql.search import search_query


def test_issue_example() -> None:
    assert parse_filter("metrics.acc > 0.9 and params.C = '1.0'") == [
        Condition("metric", "acc", ">", 0.9),
        Condition("param", "C", "=", "1.0"),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("metrics.val.loss <= 1e-3", Condition("metric", "val.loss", "<=", 0.001)),
        ("tags.`my tag` LIKE '%x%'", Condition("tag", "my tag", "LIKE", "%x%")),
        ('params."odd key" != "v"', Condition("param", "odd key", "!=", "v")),
        ("status IN ('finished', 'x')", Condition("attribute", "status", "IN", ("finished", "x"))),
        ("attributes.run_name NOT IN ('a')", Condition("attribute", "name", "NOT IN", ("a",))),
        ("params.C = 1.0", Condition("param", "C", "=", "1.0")),
        ("metrics.acc == -2", Condition("metric", "acc", "=", -2.0)),
    ],
)  # fmt: skip
def test_grammar(text: str, expected: Condition) -> None:
    assert parse_filter(text) == [expected]


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("metrics.acc > ", 14),
        ("metrics.acc >> 1", 13),
        ("foo.bar = 1", 0),
        ("metrics.acc > 'x'", 14),
        ("params.C = 1 AND", 16),
        ("params.C = 1 OR params.C = 2", 13),
        ("params.C LIKE 3", 14),
        ("metrics.acc = 1 )", 16),
        ("status IN 'a'", 10),
        ("params.C = 'unterminated", 11),
    ],
)
def test_errors_point_at_position(text: str, position: int) -> None:
    with pytest.raises(FilterSyntaxError) as err:
        parse_filter(text)
    assert err.value.position == position
    assert str(err.value).endswith(" " * (position + 2) + "^")


def test_order_by() -> None:
    assert [
        (o.kind, o.key, o.descending) for o in parse_order_by(["metrics.acc DESC", "name"])
    ] == [
        ("metric", "acc", True),
        ("attribute", "name", False),
    ]
    with pytest.raises(FilterSyntaxError):
        parse_order_by(["metrics.acc sideways"])


@settings(max_examples=400)
@given(st.text(max_size=80))
def test_arbitrary_text_raises_only_relay_errors(text: str) -> None:
    with contextlib.suppress(RelayError):
        parse_filter(text)


_keys = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True)
_values = st.text(max_size=20)


@settings(max_examples=200)
@given(key=_keys, value=_values)
def test_values_become_bound_parameters_never_sql(key: str, value: str) -> None:
    """Whatever a user puts in a quoted value, it reaches SQL only as a bound parameter."""
    quoted = "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    conds = parse_filter(f"params.{key} = {quoted}")
    assert conds == [Condition("param", key, "=", value)]
    order = parse_order_by([f"metrics.{key} DESC"])
    query, values = search_query("proj", None, conds, order, 10)
    baseline, _ = search_query("proj", None, parse_filter(f"params.{key} = 'v'"), order, 10)
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        compiled = query.compile(dialect=dialect)
        bound = compiled.construct_params(values)
        assert value in bound.values()
        assert key in bound.values()
        # the SQL text is the same whatever the value: it can only travel as a parameter
        assert str(compiled) == str(baseline.compile(dialect=dialect))
