"""CSV column types (issue 10 item 3): one reader for publish, contract checks and drift; the
contract's types, or explicit ones (`--dtype col=type`, `dtypes=`); a column that changes type
mid-file is named with its row and both types, and the `--dtype` that reads it is suggested.

The file is a real one, not a shrunken block size: `zip` holds integers for 100,000 rows (17 MB,
past the 16 MB pyarrow infers types from), then text."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import relayml as relay
from tests.cli.conftest import Relay, Result, one_error_line

ROWS = 100_000
TAIL = 10


@pytest.fixture(scope="module")
def late(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("csv") / "late.csv"
    pad = "n" * 160
    with path.open("w") as f:
        f.write("id,zip,note\n")
        f.writelines(f"{i},{10_000 + i % 50},{pad}\n" for i in range(ROWS))
        f.write(f"{ROWS},A1B 2C3,x\n")  # data row 100,001
        f.writelines(f"{ROWS + 1 + i},{10_000 + i},x\n" for i in range(TAIL))
    assert path.stat().st_size > 16 << 20
    return path


def error_line(result: Result) -> str:
    """One `error: ...` line on stderr, no traceback (stdout may show the progress so far)."""
    assert "Traceback" not in result.err and result.err.startswith("error: "), result.err
    assert result.err.count("\n") == 1, result.err
    return result.err


def contract(tmp_path: Path, zip_type: str) -> Path:
    path = tmp_path / f"zip_{zip_type}.yaml"
    path.write_text(f"columns:\n  id:\n    type: integer\n  zip:\n    type: {zip_type}\n")
    return path


MESSAGE = (
    "column 'zip' changed type at data row 100001: int64 before (inferred from the file's "
    "first 16 MB), string there ('A1B 2C3'). Give the column's type: --dtype zip=string on the "
    "command line, dtypes={'zip': 'string'} in Python"
)


def test_sdk_names_column_row_and_types_and_publishes_nothing(home: Path, late: Path) -> None:
    with pytest.raises(relay.InvalidInput) as err:
        relay.datasets.publish("late", late)
    assert MESSAGE in err.value.message
    assert err.value.details == {"column": "zip", "row": 100_001, "expected": "int64",
                                 "found": "string"}  # fmt: skip
    assert relay.datasets.list() == []


def test_sdk_reads_explicit_types_and_the_contract_s_types(
    home: Path, late: Path, tmp_path: Path
) -> None:
    given = relay.datasets.publish("late", late, dtypes={"zip": "string"})
    assert given.rows == ROWS + 1 + TAIL
    types = {c["name"]: c["type"] for c in given.schema}
    assert types == {"id": "int64", "zip": "string", "note": "string"}
    assert given.to_pandas()["zip"].iloc[ROWS] == "A1B 2C3"

    # no dtypes: the contract's types are the types the file is read with
    by_contract = relay.datasets.publish("late2", late, contract=contract(tmp_path, "string"))
    assert by_contract.status.value == "valid" and by_contract.digest == given.digest

    # a contract whose type the data breaks: told where, and what to change
    with pytest.raises(relay.InvalidInput) as err:
        relay.datasets.publish("late3", late, contract=contract(tmp_path, "integer"))
    assert (
        "column 'zip' is int64 in the contract, but data row 100001 holds string 'A1B 2C3'. "
        "Fix the file or the contract, or read the column as string (--dtype zip=string"
    ) in err.value.message
    # ... and reading it as text lets the contract's type check quarantine the version
    quarantined = relay.datasets.publish(
        "late3", late, contract=contract(tmp_path, "integer"), dtypes={"zip": "string"}
    )
    assert quarantined.status.value == "quarantined"
    assert quarantined.record.failed_checks() == ["zip.type"]


def test_sdk_refuses_bad_dtypes(home: Path, late: Path) -> None:
    with pytest.raises(relay.InvalidInput, match="unknown type 'strng' for column 'zip'"):
        relay.datasets.publish("late", late, dtypes={"zip": "strng"})
    with pytest.raises(relay.InvalidInput, match=r"column\(s\) \['zp'\] .* it has \['id', "):
        relay.datasets.publish("late", late, dtypes={"zp": "string"})
    with pytest.raises(relay.InvalidInput, match="dtypes= applies to CSV files"):
        relay.datasets.publish("frame", pd.DataFrame({"zip": [1]}), dtypes={"zip": "string"})
    assert relay.datasets.list() == []


def test_cli_publish_check_and_infer_take_dtype(late: Path, tmp_path: Path) -> None:
    cli = Relay(tmp_path / ".relay")
    failed = cli("datasets", "publish", "late", str(late))
    assert failed.code == 2 and MESSAGE in error_line(failed)
    assert cli("datasets", "ls", "--json").json() == []

    ok = cli("datasets", "publish", "late", str(late), "--dtype", "zip=string", "--json")
    assert ok.code == 0, ok.err
    assert {c["name"]: c["type"] for c in ok.json()["schema"]}["zip"] == "string"

    # contracts check reads the CSV with the contract's types
    check = cli("contracts", "check", str(contract(tmp_path, "string")), str(late))
    assert check.code == 0, check.err
    wrong = cli("contracts", "check", str(contract(tmp_path, "integer")), str(late))
    assert wrong.code == 2 and "is int64 in the contract" in one_error_line(wrong)
    overridden = cli("contracts", "check", str(contract(tmp_path, "integer")), str(late),
                     "--dtype", "zip=string", "--json")  # fmt: skip
    assert overridden.code == 1 and "zip.type" in overridden.out

    infer = cli("contracts", "infer", str(late), "--dtype", "zip=string")
    assert infer.code == 0, infer.err
    assert "zip:\n    type: string" in infer.out

    for bad, says in (("zip", "--dtype takes column=type"), ("zip=strng", "unknown type")):
        r = cli("datasets", "publish", "late", str(late), "--dtype", bad)
        assert r.code == 2 and says in error_line(r)
