"""Signatures: inferred from real models and examples, kept as JSON, enforced column by column."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from relayml.errors import InvalidInput
from relayml.flavors import (
    ColumnSpec,
    ColumnType,
    OutputKind,
    OutputSpec,
    Signature,
    enforce,
    infer_signature,
)

Data = tuple[pd.DataFrame, "pd.Series[Any]"]

SIG = Signature(
    inputs=(
        ColumnSpec("age", ColumnType.FLOAT),
        ColumnSpec("visits", ColumnType.INTEGER, nullable=True),
        ColumnSpec("plan", ColumnType.STRING),
        ColumnSpec("active", ColumnType.BOOLEAN),
        ColumnSpec("joined", ColumnType.DATETIME),
    ),
    output=OutputSpec(OutputKind.LABEL, ColumnType.INTEGER, (), (0, 1)),
)


def frame(**changes: Any) -> pd.DataFrame:
    base: dict[str, Any] = {
        "age": [31.5, 40.0],
        "visits": [3, 4],
        "plan": ["basic", "pro"],
        "active": [True, False],
        "joined": pd.to_datetime(["2024-01-02", "2025-03-04"]),
    }
    base.update(changes)
    return pd.DataFrame(base)


def test_inferred_from_a_dataframe_and_a_classifier(cancer: Data, cancer_pipeline: Any) -> None:
    X, _ = cancer
    sig = infer_signature(cancer_pipeline, X.head(5))
    assert sig.names == list(X.columns)
    assert {c.type for c in sig.inputs} == {ColumnType.FLOAT}
    assert not any(c.nullable for c in sig.inputs)
    assert sig.output == OutputSpec(OutputKind.LABEL, ColumnType.INTEGER, (), (0, 1))


def test_inferred_from_other_inputs(iris: Data) -> None:
    from sklearn.linear_model import LinearRegression

    X, y = iris
    on_frame = LinearRegression().fit(X, y)
    # a 2-D array takes the names the model was fitted with
    sig = infer_signature(on_frame, X.to_numpy()[:3])
    assert sig.names == list(X.columns)
    assert sig.output.kind is OutputKind.VALUE and sig.output.dtype is ColumnType.FLOAT
    assert infer_signature(on_frame, pa.Table.from_pandas(X.head(3))) == sig
    assert infer_signature(on_frame, X.head(3).to_dict(orient="list")) == sig
    on_array = LinearRegression().fit(X.to_numpy(), y)
    assert infer_signature(on_array, X.to_numpy()[:3]).names == ["c0", "c1", "c2", "c3"]


def test_mixed_column_types_with_a_column_transformer() -> None:
    from sklearn.compose import make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    X = pd.DataFrame(
        {"plan": ["a", "b", "a", "c"] * 5, "n": np.arange(20), "x": np.linspace(0, 1, 20)}
    )
    X.loc[3, "x"] = np.nan
    y = np.arange(20) % 2 == 0
    model = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore"), ["plan"]),
            (SimpleImputer(), ["x"]),
            remainder="passthrough",
        ),
        LogisticRegression(),
    ).fit(X, y)
    sig = infer_signature(model, X.head(4))
    assert [(c.name, c.type, c.nullable) for c in sig.inputs] == [
        ("plan", ColumnType.STRING, False),
        ("n", ColumnType.INTEGER, False),
        ("x", ColumnType.FLOAT, True),
    ]
    assert sig.output.classes == (False, True) and sig.output.dtype is ColumnType.BOOLEAN


def test_json_round_trip() -> None:
    text = json.dumps(SIG.to_dict())
    assert Signature.from_dict(json.loads(text)) == SIG
    bad = SIG.to_dict()
    bad["inputs"][0]["type"] = "double"
    with pytest.raises(InvalidInput, match=r"unknown column type 'double'.*integer, float"):
        Signature.from_dict(bad)
    with pytest.raises(InvalidInput, match="'age' appears twice"):
        Signature(inputs=(SIG.inputs[0], SIG.inputs[0]), output=SIG.output)


def test_enforce_orders_columns_and_widens_integers() -> None:
    given = frame(age=[31, 40])[["joined", "active", "plan", "visits", "age"]]
    out = enforce(SIG, given)
    assert list(out.columns) == SIG.names
    assert out["age"].dtype == np.float64 and out["age"].tolist() == [31.0, 40.0]
    assert given["age"].dtype == np.int64  # the caller's frame is left as it was
    unchanged = frame()
    out = enforce(SIG, unchanged)  # nothing to convert: the same columns, not copied
    out.loc[0, "age"] = -1.0
    assert unchanged.loc[0, "age"] == 31.5  # and writing to the result leaves the caller's
    with_null = enforce(SIG, frame(visits=pd.array([3, None], dtype="Int64")))
    assert with_null["visits"].dtype == np.float64 and np.isnan(with_null["visits"][1])


def test_enforce_hands_float_columns_to_the_model_without_copying_them() -> None:
    # an evaluation over a 1M-row holdout checks every column first: columns that already
    # have the declared float type must reach the model as the caller's own array, not as a
    # frame rebuilt column by column (which NumPy then has to copy back into one array)
    sig = Signature(
        inputs=tuple(ColumnSpec(f"x{i}", ColumnType.FLOAT) for i in range(4)),
        output=OutputSpec(OutputKind.LABEL, ColumnType.INTEGER, (), (0, 1)),
    )
    given = pd.DataFrame(np.random.default_rng(0).normal(size=(1000, 4)), columns=sig.names)
    out = enforce(sig, given)
    assert np.shares_memory(np.asarray(out), np.asarray(given))
    assert np.array_equal(np.asarray(out), np.asarray(given))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"age": ["31", "x"]},
            r"column 'age' is declared float but the input holds strings "
            r"\(e\.g\. '31'\); convert it to numbers",
        ),
        ({"age": [1.0, None]}, r"column 'age' has 1 null value.*non-nullable; fill or drop"),
        ({"visits": [1.5, 2.0]}, r"column 'visits' is declared integer.*floats.*astype"),
        ({"plan": [1, 2]}, r"column 'plan' is declared string.*integers"),
        ({"active": [1, 0]}, r"column 'active' is declared boolean.*integers"),
        ({"joined": ["2024-01-01", "2024-01-02"]}, r"column 'joined'.*to_datetime"),
    ],
)
def test_enforce_names_the_wrong_column(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        enforce(SIG, frame(**changes))


def test_enforce_names_missing_and_extra_columns() -> None:
    with pytest.raises(InvalidInput, match=r"missing column\(s\) 'plan' \(string\)") as info:
        enforce(SIG, frame().drop(columns=["plan"]))
    assert info.value.details["missing"] == ["plan"]
    with pytest.raises(InvalidInput, match=r"unexpected column\(s\) 'colour'.*Give exactly"):
        enforce(SIG, frame(colour=["red", "blue"]))
    with pytest.raises(InvalidInput, match="array has 2 columns but the model takes 5"):
        enforce(SIG, np.zeros((3, 2)))
    with pytest.raises(InvalidInput, match="2-D array"):
        enforce(SIG, np.zeros(5))
    with pytest.raises(InvalidInput, match="cannot read model input of type list"):
        enforce(SIG, [[1, 2]])
