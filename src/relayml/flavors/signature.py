"""Signatures: inferred from a model and an input example, enforced before every prediction.

Input can be a pandas DataFrame, a pyarrow Table, a dict of columns, or a 2-D NumPy array (whose
columns are named by the model's ``feature_names_in_`` when it has them, else ``c0..cN``).
``enforce`` turns any of them into the DataFrame the model takes, or raises ``InvalidInput``
naming the column and saying what to do; NumPy never gets to raise on bad input.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from relayml.domain.models import ColumnSpec, ColumnType, OutputKind, OutputSpec, Signature
from relayml.errors import InvalidInput

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

_SHOWN = 10  # column names listed in one message before "and N more"


def _names(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


def as_frame(data: Any, names: list[str] | None = None) -> pd.DataFrame:
    """``data`` as a DataFrame. A 2-D array's columns get ``names`` (else ``c0..cN``)."""
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        frame = data
    elif type(data).__module__.split(".")[0] == "pyarrow" and hasattr(data, "to_pandas"):
        frame = data.to_pandas()
        if not isinstance(frame, pd.DataFrame):
            raise InvalidInput("give a pyarrow Table, not a single Array or ChunkedArray")
    elif isinstance(data, dict):
        try:
            frame = pd.DataFrame(data)
        except ValueError as exc:
            raise InvalidInput(f"the dict of columns does not make a table: {exc}") from None
    elif isinstance(data, np.ndarray):
        if data.ndim != 2:
            raise InvalidInput(
                f"give a 2-D array (rows x columns), not one of shape {data.shape}; "
                "for one row use array.reshape(1, -1)"
            )
        width = data.shape[1]
        if names is not None and len(names) != width:
            raise InvalidInput(
                f"the array has {width} columns but the model takes {len(names)} "
                f"({_names(names)}); pass a DataFrame with those columns"
            )
        frame = pd.DataFrame(data, columns=names or [f"c{i}" for i in range(width)])
    else:
        raise InvalidInput(
            f"cannot read model input of type {type(data).__name__}: give a pandas DataFrame, "
            "a pyarrow Table, a dict of columns or a 2-D NumPy array"
        )
    bad = [c for c in frame.columns if not isinstance(c, str)]
    if bad:
        raise InvalidInput(
            f"column names must be strings; the input has {bad[:_SHOWN]!r}: "
            "rename them (e.g. frame.columns = frame.columns.astype(str))"
        )
    if frame.columns.has_duplicates:
        dup = sorted(set(frame.columns[frame.columns.duplicated()]))
        raise InvalidInput(f"the input has column(s) {_names(dup)} twice; keep one of each")
    return frame


# What pandas.api.types.infer_dtype says of a column's values, in Relay's vocabulary.
_INFERRED = {
    "string": ColumnType.STRING,
    "integer": ColumnType.INTEGER,
    "floating": ColumnType.FLOAT,
    "mixed-integer-float": ColumnType.FLOAT,
    "decimal": ColumnType.FLOAT,
    "boolean": ColumnType.BOOLEAN,
    "datetime64": ColumnType.DATETIME,
    "datetime": ColumnType.DATETIME,
}
_NOUN = {
    ColumnType.INTEGER: "integers",
    ColumnType.FLOAT: "floats",
    ColumnType.BOOLEAN: "booleans",
    ColumnType.STRING: "strings",
    ColumnType.DATETIME: "datetimes",
}


def _infer(column: pd.Series[Any]) -> tuple[ColumnType | None, str]:
    """The type of a column's values (None when it holds only nulls, or mixed or unknown
    values) and what pandas says they are."""
    import pandas as pd
    from pandas.api.types import infer_dtype

    if isinstance(column.dtype, pd.CategoricalDtype):
        column = column.astype(column.cat.categories.dtype)
    kind = infer_dtype(column, skipna=True)
    return _INFERRED.get(kind), kind


def _untyped(name: str, column: pd.Series[Any], kind: str) -> InvalidInput:
    types = sorted({type(v).__name__ for v in column.dropna().iloc[:1000]})
    return InvalidInput(
        f"column {name!r} holds values Relay cannot type ({kind}: {', '.join(types)}); "
        "give it one type of integer, float, boolean, string or datetime values"
    )


def _example_value(column: pd.Series[Any], wanted: ColumnType) -> str:
    """A value in ``column`` that is not of the ``wanted`` type, for an error message."""
    for value in column.dropna().iloc[:10_000]:
        if wanted is ColumnType.STRING and not isinstance(value, str):
            return repr(value)
        if wanted in (ColumnType.FLOAT, ColumnType.INTEGER) and isinstance(value, str | bool):
            return repr(value)
    sample = column.dropna()
    return repr(sample.iloc[0]) if len(sample) else "null"


def _hint(declared: ColumnType, actual: ColumnType) -> str:
    if declared in (ColumnType.FLOAT, ColumnType.INTEGER) and actual is ColumnType.STRING:
        return "convert it to numbers (e.g. pandas.to_numeric) or fix the data"
    if declared is ColumnType.INTEGER and actual is ColumnType.FLOAT:
        return "cast it with .astype('int64') if the values are whole numbers"
    if declared is ColumnType.DATETIME and actual is ColumnType.STRING:
        return "parse it with pandas.to_datetime"
    if declared is ColumnType.STRING:
        return "convert it with .astype(str) if these values are categories"
    return f"give it {_NOUN[declared]}"


def _conform(spec: ColumnSpec, column: pd.Series[Any]) -> pd.Series[Any]:
    """``column`` checked against ``spec`` and converted to what the model was given."""
    import numpy as np

    nulls = int(column.isna().sum())
    if nulls and not spec.nullable:
        raise InvalidInput(
            f"column {spec.name!r} has {nulls} null value(s) but the model's signature declares "
            "it non-nullable; fill or drop those rows (or register the model with a signature "
            f"where {spec.name!r} is nullable)"
        )
    actual, kind = _infer(column)
    declared = spec.type
    if actual is None and kind != "empty":
        raise InvalidInput(
            f"column {spec.name!r} is declared {declared.value} but the input mixes types "
            f"({kind}, e.g. {_example_value(column, declared)}); give it {_NOUN[declared]}"
        )
    if actual is not None and actual is not declared:
        widening = declared is ColumnType.FLOAT and actual is ColumnType.INTEGER
        if not widening:
            raise InvalidInput(
                f"column {spec.name!r} is declared {declared.value} but the input holds "
                f"{_NOUN[actual]} (e.g. {_example_value(column, declared)}); "
                f"{_hint(declared, actual)}"
            )
    if declared is ColumnType.FLOAT and column.dtype == np.float64:
        return column  # already what the model was given: no copy, the caller's frame reused
    if declared is ColumnType.FLOAT or (declared is ColumnType.INTEGER and nulls):
        # numeric columns reach the model as NumPy floats, nulls as NaN, as they were trained
        return column.astype("float64")
    if declared is ColumnType.INTEGER and column.dtype.kind not in "iu":
        return column.astype(np.int64)
    if declared is ColumnType.BOOLEAN and not nulls and column.dtype != np.bool_:
        return column.astype(np.bool_)
    return column


def enforce(signature: Signature, data: Any) -> pd.DataFrame:
    """``data`` as the DataFrame the model takes: exactly the signature's columns, in its order,
    each of its declared type. Integers are widened to floats where floats are declared; any
    other mismatch, a missing or extra column, or a null where none is allowed, raises
    ``InvalidInput`` naming the column."""
    import pandas as pd

    frame = as_frame(data, names=signature.names)
    declared = signature.names
    present = set(frame.columns)
    missing = [n for n in declared if n not in present]
    extra = [c for c in frame.columns if c not in set(declared)]
    if missing or extra:
        parts = []
        if missing:
            parts.append(
                "missing column(s) "
                + ", ".join(f"{n!r} ({signature.column(n).type.value})" for n in missing[:_SHOWN])
                + (f" and {len(missing) - _SHOWN} more" if len(missing) > _SHOWN else "")
            )
        if extra:
            parts.append(f"unexpected column(s) {_names(extra)}")
        raise InvalidInput(
            f"the input does not match the model's signature: {'; '.join(parts)}. "
            f"Give exactly the columns the model takes: {_names(declared)}",
            missing=missing,
            extra=extra,
        )
    originals = [frame[spec.name] for spec in signature.inputs]
    columns = [_conform(spec, c) for spec, c in zip(signature.inputs, originals, strict=True)]
    if all(c is o for c, o in zip(columns, originals, strict=True)):
        # nothing converted: the caller's columns, selected in order (no copy of the data,
        # so the model reads them as fast as it reads the caller's frame)
        return frame[declared]
    return pd.DataFrame(dict(zip(declared, columns, strict=True)), index=frame.index, copy=False)


def _output_type(array: np.ndarray[Any, Any]) -> ColumnType:
    kind = array.dtype.kind
    if kind == "b":
        return ColumnType.BOOLEAN
    if kind in "iu":
        return ColumnType.INTEGER
    if kind == "f":
        return ColumnType.FLOAT
    if kind == "M":
        return ColumnType.DATETIME
    return ColumnType.STRING


def output_spec(
    prediction: Any, classes: tuple[Any, ...] | None, kind: OutputKind | None = None
) -> OutputSpec:
    """What a model's ``predict`` gave, as an OutputSpec (classes make it a label)."""
    import numpy as np

    array = np.asarray(prediction)
    if array.ndim == 0:
        raise InvalidInput("the model's predict returned a single value, not one per row")
    if kind is None:
        is_label = classes is not None or array.dtype.kind not in "f"
        kind = OutputKind.LABEL if is_label else OutputKind.VALUE
    plain = None if classes is None else tuple(np.asarray(classes).tolist())
    return OutputSpec(kind=kind, dtype=_output_type(array), shape=array.shape[1:], classes=plain)


def input_spec(frame: pd.DataFrame) -> tuple[ColumnSpec, ...]:
    """The columns of an example frame; a column is nullable when the example has a null in it."""
    specs = []
    for name in frame.columns:
        column = frame[name]
        found, kind = _infer(column)
        if found is None and kind != "empty":
            raise _untyped(name, column, kind)
        if found is None:
            raise InvalidInput(
                f"column {name!r} holds only nulls in the input example, so its type cannot be "
                "told; give an example with values in it"
            )
        specs.append(ColumnSpec(name=name, type=found, nullable=bool(column.isna().any())))
    return tuple(specs)


def infer_signature(model: Any, input_example: Any) -> Signature:
    """The signature of ``model``: its input columns from ``input_example`` (a DataFrame, a
    pyarrow Table, a dict of columns or a 2-D array), its output from running the model on it.

    A column is declared nullable only when the example has a null in it; build the Signature
    yourself (``dataclasses.replace``) to widen that."""
    from relayml.flavors.adapters import predictor_for

    predictor = predictor_for(model)
    frame = as_frame(input_example, names=predictor.feature_names)
    if len(frame) == 0:
        raise InvalidInput("the input example has no rows; give at least one")
    names = predictor.feature_names
    if names is not None:
        present = set(frame.columns)
        missing = [n for n in names if n not in present]
        extra = [c for c in frame.columns if c not in set(names)]
        if missing or extra:
            raise InvalidInput(
                f"the input example does not have the columns the model was fitted on: "
                f"missing {_names(missing) or 'none'}, unexpected {_names(extra) or 'none'}"
            )
        frame = frame[names]
    inputs = input_spec(frame)
    prediction = predictor.predict(frame)
    return Signature(inputs=inputs, output=output_spec(prediction, predictor.classes))
