"""Contracts as YAML and Python objects: parsing, canonical form, errors that point at the key."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from relayml.contracts import (
    Column,
    Contract,
    CustomCheck,
    Freshness,
    RowCount,
    UniqueKey,
    contract_from_yaml,
    load_contract,
    validate,
)
from relayml.errors import InvalidInput, NotFound

LOANS = """\
name: loans
columns:
  id:
    type: int64
    unique: true
  amount:
    type: float64
    nullable: false
    min: 0
    max: 1000000
  grade:
    type: string
    allowed: [A, B, C]
    severity: warn
  email:
    regex: {value: '^[^@]+@[^@]+$', severity: warn}
  score:
    range: {min: 0, max: 1, severity: warn}
checks:
  - row_count: {min: 1, max: 1000}
  - freshness: {column: updated_at, max_age: 2d}
    severity: warn
  - unique: [customer, month]
"""


def test_yaml_file_loads_into_the_model(tmp_path: Path) -> None:
    path = tmp_path / "loans.yaml"
    path.write_text(LOANS)
    c = load_contract(path)
    assert c.name == "loans"
    assert [col.name for col in c.columns] == ["id", "amount", "grade", "email", "score"]
    amount = c.column("amount")
    assert (amount.type, amount.nullable, amount.min, amount.max) == ("float64", False, 0, 1e6)
    assert c.column("grade").allowed == ("A", "B", "C")
    assert c.column("grade").severity_of("allowed") == "warn"
    assert c.column("email").severity_of("regex") == "warn"
    assert c.column("email").severity_of("type") == "error"
    assert c.column("score").severity_of("range") == "warn"
    assert c.checks == (
        RowCount(min=1, max=1000),
        Freshness("updated_at", "2d", "warn"),
        UniqueKey(("customer", "month")),
    )
    assert load_contract(str(path)) == c
    assert load_contract(path.read_text()) == c  # YAML text, as relay.datasets.publish takes it


def test_yaml_text_and_impossible_paths_are_read_or_refused_clearly() -> None:
    text = contract_from_yaml(LOANS).to_yaml()
    assert len(text) > 255  # longer than any file name: was an OSError (exit 70)
    assert load_contract(text) == contract_from_yaml(LOANS)
    assert validate(pa.table({"x": [1]}), "columns:\n  x:\n    type: integer\n").passed
    with pytest.raises(InvalidInput, match=r"cannot read a contract file named .*File name too"):
        load_contract("x" * 300)


def test_canonical_form_round_trips_and_digest_is_stable() -> None:
    c = contract_from_yaml(LOANS)
    again = contract_from_yaml(c.to_yaml())
    assert again == c
    assert again.to_dict() == c.to_dict()
    assert again.digest == c.digest and len(c.digest) == 64
    changed = load_contract({**c.to_dict(), "name": "other"})
    assert changed.digest != c.digest
    assert load_contract(c) is c


def test_python_objects_are_the_same_contract_as_yaml() -> None:
    py = Contract(
        name="loans",
        columns=[Column("id", type="int64", unique=True),
                 Column("amount", type="float64", nullable=False, min=0, max=1_000_000)],
        checks=[RowCount(min=1)],
    )  # fmt: skip
    text = "name: loans\ncolumns:\n  id: {type: int64, unique: true}\n" \
        "  amount: {type: float64, nullable: false, min: 0, max: 1000000}\n" \
        "checks:\n  - row_count: {min: 1}\n"  # fmt: skip
    assert contract_from_yaml(text).digest == py.digest


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("columns:\n  amount:\n    min: lots\n", "<yaml>:3: columns.amount.min: expected a number"),
        ("columns:\n  amount:\n    maxx: 3\n", "<yaml>:3: columns.amount.maxx: unknown key"),
        ("columns:\n  a:\n    severity: fatal\n", "<yaml>:3: columns.a.severity: severity must"),
        ("columns:\n  a:\n    type: int65\n", "<yaml>:3: columns.a.type: unknown type 'int65'"),
        ("columns:\n  a:\n    regex: '(['\n", "<yaml>:3: columns.a.regex: '(['"),
        ("columns:\n  a:\n    allowed: []\n", "columns.a.allowed: expected a non-empty list"),
        ("columns:\n  a:\n    nullable: 'no'\n", "columns.a.nullable: expected true or false"),
        ("columns: {}\nchecks:\n  - freshness: {column: t, max_age: soon}\n",
         "<yaml>:3: checks[0].freshness.max_age: invalid duration 'soon'"),
        ("columns: {}\nchecks:\n  - row_count: {min: -1}\n", "checks[0].row_count.min"),
        ("columns: {}\nchecks:\n  - unique: a\n", "checks[0].unique: expected a list"),
        ("columns: {}\nchecks:\n  - row_count: {min: 1}\n    unique: [a]\n",
         "checks[0]: a table check has exactly one of"),
        ("colums: {}\n", "<yaml>:1: colums: unknown key 'colums'"),
        ("- a\n", "a contract is a mapping"),
        ("columns: [\n", "not valid YAML"),
    ],
)  # fmt: skip
def test_errors_point_at_the_offending_key(text: str, where: str) -> None:
    with pytest.raises(InvalidInput) as err:
        contract_from_yaml(text)
    assert where in err.value.message


def test_file_errors_name_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(LOANS.replace("max: 1000000", "max: [1]"))
    with pytest.raises(InvalidInput, match=r"bad\.yaml:10: columns\.amount\.max: expected a"):
        load_contract(path)
    with pytest.raises(NotFound, match="does not exist"):
        load_contract(tmp_path / "missing.yaml")
    with pytest.raises(InvalidInput, match="cannot read a contract from a int"):
        load_contract(3)


CUSTOM = """\
columns:
  amount:
    custom:
      - {name: positive, function: 'tests.contracts.helpers:positive_amount', severity: warn}
checks:
  - custom: 'tests.contracts.helpers:broken'
    name: broken
"""


def test_yaml_custom_code_is_refused_without_trust() -> None:
    with pytest.raises(InvalidInput) as err:
        contract_from_yaml(CUSTOM)
    assert "columns.amount.custom[0].function" in err.value.message
    assert "trust_code=True" in err.value.message


def test_yaml_custom_code_is_imported_with_trust() -> None:
    from tests.contracts.helpers import broken, positive_amount

    c = contract_from_yaml(CUSTOM, trust_code=True)
    check = c.column("amount").custom[0]
    assert (check.name, check.fn, check.severity, check.column) == (
        "positive",
        positive_amount,
        "warn",
        "amount",
    )
    table = c.checks[0]
    assert isinstance(table, CustomCheck) and table.fn is broken
    assert contract_from_yaml(c.to_yaml(), trust_code=True).digest == c.digest
    with pytest.raises(InvalidInput, match=r"cannot import 'tests\.contracts\.helpers:nope'"):
        contract_from_yaml(CUSTOM.replace("broken'", "nope'"), trust_code=True)


def test_duplicate_columns_are_refused() -> None:
    with pytest.raises(ValueError, match="declared twice"):
        Contract(columns=[Column("a"), Column("a")])
