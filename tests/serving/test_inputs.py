"""Request bodies checked against a signature: every JSON shape, CSV and Arrow read to the same
rows, and every kind of bad input refused as a 422 that names the column and the problem."""

from __future__ import annotations

import io
from typing import Any

import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.ipc
import pytest

from relayml.errors import Unprocessable
from relayml.flavors import ColumnSpec, ColumnType, OutputKind, OutputSpec, Signature
from relayml.serving.inputs import Schema, decode_json, sticky_value

SIG = Signature(
    inputs=(
        ColumnSpec("age", ColumnType.FLOAT),
        ColumnSpec("visits", ColumnType.INTEGER, nullable=True),
        ColumnSpec("plan", ColumnType.STRING),
        ColumnSpec("active", ColumnType.BOOLEAN),
    ),
    output=OutputSpec(OutputKind.LABEL, ColumnType.INTEGER, (), (0, 1)),
)
ROW = {"age": 31.5, "visits": 3, "plan": "pro", "active": True}
ROW2 = {"age": 40, "visits": None, "plan": "free", "active": False}
EXPECTED = [(31.5, 3, "pro", True), (40, None, "free", False)]


def parse(doc: Any, schema: Schema | None = None) -> list[tuple[Any, ...]]:
    parsed = (schema or Schema(SIG)).parse(decode_json(orjson.dumps(doc)))
    assert parsed.rows is not None
    return parsed.rows


def refused(doc: Any, schema: Schema | None = None) -> dict[str, Any]:
    with pytest.raises(Unprocessable) as info:
        parse(doc, schema)
    assert info.value.http_status == 422
    return {"message": info.value.message, **info.value.details}


def test_every_json_shape_reads_to_rows_in_signature_order() -> None:
    reordered = [dict(reversed(list(r.items()))) for r in (ROW, ROW2)]
    assert parse({"records": reordered}) == EXPECTED
    assert parse(reordered) == EXPECTED
    assert parse({"dataframe_records": [ROW, ROW2]}) == EXPECTED
    cols = ["plan", "age", "active", "visits"]
    data = [[r[c] for c in cols] for r in (ROW, ROW2)]
    assert parse({"columns": cols, "data": data}) == EXPECTED
    assert parse({"dataframe_split": {"columns": cols, "data": data}}) == EXPECTED
    assert parse(ROW) == EXPECTED[:1]


def test_open_inference_protocol_v2_by_column_and_as_one_tensor() -> None:
    schema = Schema(SIG)
    by_column = {
        "inputs": [
            {"name": "age", "shape": [2], "datatype": "FP64", "data": [31.5, 40]},
            {"name": "visits", "shape": [2, 1], "datatype": "INT64", "data": [[3], [None]]},
            {"name": "plan", "shape": [2], "datatype": "BYTES", "data": ["pro", "free"]},
            {"name": "active", "shape": [2], "datatype": "BOOL", "data": [True, False]},
        ]
    }
    assert schema.parse_v2(by_column).rows == EXPECTED
    floats = Signature(
        inputs=(ColumnSpec("a", ColumnType.FLOAT), ColumnSpec("b", ColumnType.FLOAT)),
        output=SIG.output,
    )
    tensor = {"inputs": [{"name": "x", "shape": [2, 2], "datatype": "FP64", "data": [1, 2, 3, 4]}]}
    assert Schema(floats).parse_v2(tensor).rows == [(1, 2), (3, 4)]
    with pytest.raises(Unprocessable, match=r"shape \[rows, 2\]"):
        Schema(floats).parse_v2(
            {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [1, 2, 3]}]}
        )


def test_csv_and_arrow_bodies_read_with_the_signature_types() -> None:
    schema = Schema(SIG)
    csv = b"plan,age,visits,active\npro,31.5,3,true\nfree,40,,false\n"
    frame = schema.parse_csv(csv).frame
    assert frame is not None and list(frame.columns) == ["age", "visits", "plan", "active"]
    assert frame["age"].tolist() == [31.5, 40.0] and frame["plan"].tolist() == ["pro", "free"]
    table = pa.table({"age": [31.5, 40.0], "visits": [3, None], "plan": ["pro", "free"],
                      "active": [True, False]})  # fmt: skip
    sink = io.BytesIO()
    with pyarrow.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    arrow = schema.parse_arrow(sink.getvalue()).frame
    assert arrow is not None and arrow["visits"].isna().tolist() == [False, True]


@pytest.mark.parametrize(
    ("doc", "column", "problem"),
    [
        ({"age": 1.0, "visits": 1, "plan": "x"}, "active", "missing"),
        ({**ROW, "colour": "red"}, "colour", "extra"),
        ({**ROW, "age": "31"}, "age", "type"),
        ({**ROW, "visits": 2.5}, "visits", "type"),
        ({**ROW, "active": 1}, "active", "type"),
        ({**ROW, "plan": 7}, "plan", "type"),
        ({**ROW, "age": None}, "age", "null"),
        ({"records": [ROW, {**ROW2, "plan": None}]}, "plan", "null"),
        ({"records": []}, None, "empty"),
        ({"records": "nope"}, None, "shape"),
        ({"columns": ["age"], "data": [[1.0]]}, "visits", "missing"),
        ({"columns": list(ROW), "data": [[1.0, 2]]}, None, "shape"),
        ("a string", None, "shape"),
    ],
)
def test_bad_json_is_a_422_naming_the_column_and_problem(
    doc: Any, column: str | None, problem: str
) -> None:
    found = refused(doc)
    assert found["problem"] == problem
    assert found["column"] == column
    if column is not None:
        assert repr(column) in found["message"]


def test_malformed_json_and_csv_are_422s_too() -> None:
    with pytest.raises(Unprocessable) as info:
        decode_json(b'{"age": 1,')
    assert info.value.details["problem"] == "json"
    with pytest.raises(Unprocessable) as info:
        decode_json(b'{"age": NaN}')
    assert info.value.details["problem"] == "json"
    with pytest.raises(Unprocessable) as info:
        Schema(SIG).parse_csv(b"age,visits,plan,active\nold,1,pro,true\n")
    assert info.value.details["problem"] == "csv"
    with pytest.raises(Unprocessable) as info:
        Schema(SIG).parse_csv(b"age,visits,plan\n1,1,pro\n")
    assert info.value.details == {"column": "active", "problem": "missing"}


def test_a_sticky_key_rides_along_in_records_and_is_found_in_every_shape() -> None:
    schema = Schema(SIG, sticky_key="customer")
    assert parse({**ROW, "customer": "c-1"}, schema) == EXPECTED[:1]
    assert sticky_value({**ROW, "customer": "c-1"}, "customer") == "c-1"
    assert sticky_value({"records": [{**ROW, "customer": 7}]}, "customer") == "7"
    assert (
        sticky_value({"columns": ["customer", "age"], "data": [["c-2", 1.0]]}, "customer") == "c-2"
    )
    assert sticky_value({"records": [ROW]}, "customer") is None
    # a key that is a model column stays a model column
    assert parse(ROW, Schema(SIG, sticky_key="plan")) == EXPECTED[:1]
    assert sticky_value(ROW, "plan") == "pro"


def test_csv_frame_is_the_conformed_frame_the_model_takes() -> None:
    csv = b"age,visits,plan,active\n1,2,x,false\n"
    frame = Schema(SIG).parse_csv(csv).frame
    assert isinstance(frame, pd.DataFrame) and frame["age"].dtype == "float64"


FLOATS = Signature(
    inputs=tuple(ColumnSpec(f"f{i}", ColumnType.FLOAT) for i in range(3)),
    output=OutputSpec(OutputKind.VALUE, ColumnType.FLOAT, ()),
)


def test_many_rows_of_floats_read_as_one_array_and_bad_values_are_still_named() -> None:
    schema = Schema(FLOATS)
    records = [{"f2": 3.0, "f0": 1, "f1": 2.5}, {"f0": 4.0, "f1": 5.0, "f2": 6}]
    parsed = schema.parse(decode_json(orjson.dumps({"records": records})))
    assert parsed.array is not None and parsed.array.tolist() == [[1, 2.5, 3], [4, 5, 6]]
    split = {"columns": ["f1", "f0", "f2"], "data": [[2.5, 1, 3], [5, 4, 6]]}
    parsed = schema.parse(decode_json(orjson.dumps(split)))
    assert parsed.array is not None and parsed.array.tolist() == [[1, 2.5, 3], [4, 5, 6]]
    for bad_value, problem in ((True, "type"), ("7", "type"), (None, "null")):
        rows = [{"f0": 1.0, "f1": 2.0, "f2": 3.0}, {"f0": 1.0, "f1": bad_value, "f2": 3.0}]
        found = refused({"records": rows}, schema)
        assert (found["column"], found["problem"]) == ("f1", problem)
        assert "row 2" in found["message"]
        data = [[1.0, 2.0, 3.0], [1.0, bad_value, 3.0]]
        found = refused({"columns": ["f0", "f1", "f2"], "data": data}, schema)
        assert (found["column"], found["problem"]) == ("f1", problem)
