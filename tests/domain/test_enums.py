"""One enum parser: every closed vocabulary refuses unknown text with the same kind of message."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pytest

from relayml.domain.enums import parse_enum
from relayml.domain.identity import Role, parse_role
from relayml.domain.pipelines import ExecutorKind, parse_executor, parse_trigger
from relayml.domain.tracking import RunStatus, parse_status
from relayml.errors import InvalidInput
from relayml.executors.base import get_executor
from relayml.stats.kinds import ColumnKind
from relayml.stats.tables import resolve_kinds


def test_members_and_their_values_parse() -> None:
    assert parse_enum(Role, "role", "admin") is Role.ADMIN
    assert parse_enum(Role, "role", Role.STAKEHOLDER) is Role.STAKEHOLDER
    assert parse_executor("ray") is ExecutorKind.RAY
    assert parse_status("finished") is RunStatus.FINISHED


@pytest.mark.parametrize(
    ("parse", "message"),
    [
        (parse_role, "unknown role 'bogus'; use one of: data_engineer, data_scientist, "),
        (parse_status, "unknown run status 'bogus'; use one of: running, finished, failed, "),
        (parse_trigger, "unknown trigger 'bogus'; use one of: manual, schedule"),
        (parse_executor, "unknown executor 'bogus'; use one of: local, ray"),
        (get_executor, "unknown executor 'bogus'; use one of: local, ray"),
        (
            lambda v: resolve_kinds(pa.table({"a": [1]}), ["a"], overrides={"a": v}),
            "unknown kind for column 'a': 'bogus'; use one of: numeric, categorical, boolean, "
            "datetime",
        ),
    ],
)
def test_unknown_text_lists_the_valid_values(parse: Callable[[str], object], message: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        parse("bogus")
    assert str(exc.value).startswith(message)


@pytest.mark.parametrize("value", [None, 3, "", "ADMIN", " admin"])
def test_only_exact_values_parse(value: object) -> None:
    with pytest.raises(InvalidInput, match=f"unknown role {value!r}; use one of: "):
        parse_enum(Role, "role", value)


def test_column_kinds_are_one_vocabulary() -> None:
    kinds, _ = resolve_kinds(pa.table({"a": [1]}), ["a"], overrides={"a": "categorical"})
    assert kinds == {"a": ColumnKind.CATEGORICAL}
