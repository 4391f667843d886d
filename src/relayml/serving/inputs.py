"""Request bodies as model input, checked against the signature before they reach a model.

JSON comes in four shapes: ``{"records": [{col: value, ...}, ...]}``, ``{"columns": [...],
"data": [[...], ...]}``, one row as a bare object ``{col: value, ...}`` and the Open Inference
Protocol v2 ``{"inputs": [{"name", "shape", "datatype", "data"}, ...]}``; MLflow's
``dataframe_records`` and ``dataframe_split`` keys are read as the first two. JSON rows are
checked value by value in plain Python (a wrong type or a null where the signature allows none
is named with its column and row) and stay rows, so concurrent single-row requests join one
predict call cheaply. CSV (``text/csv``, a header line) and Arrow IPC streams
(``application/vnd.apache.arrow.stream``) are read whole by pyarrow and checked by
``flavors.enforce``. Every problem is ``Unprocessable`` (422) with ``column`` and ``problem``
in its details; a body over the limit is ``TooLarge`` (413).
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from relayml.domain.models import ColumnType, Signature
from relayml.errors import InvalidInput, Unprocessable

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

MAX_ROWS = 1_000_000  # rows in one request, whatever its format
CSV_TYPES = {"text/csv", "application/csv"}
ARROW_TYPES = {"application/vnd.apache.arrow.stream", "application/vnd.apache.arrow.file"}
_WRAPPERS = ("records", "dataframe_records", "columns", "dataframe_split", "inputs")


def bad(message: str, *, column: str | None = None, problem: str) -> Unprocessable:
    """A 422 naming the column (when there is one) and the kind of problem."""
    return Unprocessable(message, column=column, problem=problem)


@dataclass(frozen=True)
class Parsed:
    """A request's rows, checked: plain rows (tuples in the signature's column order, from
    JSON), a float array in that order (many JSON rows of a model that takes only floats), or
    a conformed DataFrame (CSV, Arrow)."""

    rows: list[tuple[Any, ...]] | None
    frame: pd.DataFrame | None
    array: np.ndarray[Any, Any] | None = None

    @property
    def size(self) -> int:
        if self.rows is not None:
            return len(self.rows)
        if self.array is not None:
            return len(self.array)
        assert self.frame is not None
        return len(self.frame)


def _fmt(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Schema:
    """A signature prepared for the hot path: names, positions and a checker per column."""

    def __init__(self, signature: Signature, sticky_key: str | None = None) -> None:
        self.signature = signature
        self.names: tuple[str, ...] = tuple(signature.names)
        self.index = {n: i for i, n in enumerate(self.names)}
        self.types = tuple(c.type for c in signature.inputs)
        self.nullable = tuple(c.nullable for c in signature.inputs)
        self.all_float = all(t is ColumnType.FLOAT for t in self.types)
        # the types a row of an all-float model may hold to be read by NumPy in one go (None
        # is NaN there, so only when every column may be null); anything else takes the
        # value-by-value path, which names the column and row of a bad value
        self._numbers = frozenset({float, int, type(None)} if all(self.nullable) else {float, int})
        self._pick = operator.itemgetter(*self.names)
        # a sticky key that is not a model column may ride along in a record, and is dropped
        self.sticky_key = sticky_key if sticky_key not in self.index else None
        self.name_set = frozenset(self.names)

    # --- JSON ---------------------------------------------------------------------------------

    def value(self, i: int, value: Any, row: int) -> Any:
        """``value`` for column ``i`` as the model takes it, or a 422 naming it."""
        kind = self.types[i]
        if value is None:
            if not self.nullable[i]:
                raise bad(
                    f"column {self.names[i]!r} is null in row {row} but the model's signature "
                    "does not allow nulls there; send a value",
                    column=self.names[i],
                    problem="null",
                )
            return math.nan if kind is ColumnType.FLOAT else None
        cls = type(value)
        if kind is ColumnType.FLOAT:
            if cls is float or cls is int:
                return value
        elif kind is ColumnType.INTEGER:
            if cls is int:
                return value
        elif kind is ColumnType.STRING:
            if cls is str:
                return value
        elif kind is ColumnType.BOOLEAN:
            if cls is bool:
                return value
        elif cls is str:  # datetime: ISO 8601 text
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                pass
        raise bad(
            f"column {self.names[i]!r} is declared {kind.value} but row {row} holds "
            f"{_fmt(value)} ({_json_kind(value)}); send {_WANT[kind]}",
            column=self.names[i],
            problem="type",
        )

    def record(self, obj: Any, row: int) -> tuple[Any, ...]:
        """One ``{column: value}`` object as a row in signature order."""
        if type(obj) is not dict:
            raise bad(
                f"record {row} is {_json_kind(obj)}, not an object of column: value",
                problem="shape",
            )
        if len(obj) != len(self.names) or obj.keys() != self.name_set:
            self._columns_problem(obj.keys())
        value = self.value
        return tuple([value(i, obj[n], row) for i, n in enumerate(self.names)])

    def _columns_problem(self, keys: Any) -> None:
        given = [k for k in keys if k != self.sticky_key]
        missing = [n for n in self.names if n not in set(given)]
        extra = [k for k in given if k not in self.index]
        if not missing and not extra:
            return
        first = (missing or extra)[0]
        parts = []
        if missing:
            parts.append(
                "missing column(s) "
                + ", ".join(f"{n!r} ({self.types[self.index[n]].value})" for n in missing[:10])
            )
        if extra:
            parts.append("unexpected column(s) " + ", ".join(repr(e) for e in extra[:10]))
        raise bad(
            f"the input does not match the model's signature: {'; '.join(parts)}. Send exactly "
            f"the columns the model takes: {', '.join(repr(n) for n in self.names[:20])}"
            + (" ..." if len(self.names) > 20 else ""),
            column=first,
            problem="missing" if missing else "extra",
        )

    def record_with_key(self, obj: Any, row: int) -> tuple[Any, ...]:
        if type(obj) is dict and self.sticky_key is not None and self.sticky_key in obj:
            obj = {k: v for k, v in obj.items() if k != self.sticky_key}
        return self.record(obj, row)

    def parse(self, doc: Any) -> Parsed:
        """A decoded JSON body (``decode_json``) in any of the shapes the module lists."""
        if type(doc) is dict:
            if not (self.name_set & doc.keys()) and any(w in doc for w in _WRAPPERS):
                return self._wrapped(doc)
            read = self.record_with_key if self.sticky_key is not None else self.record
            return Parsed([read(doc, 1)], None)
        if type(doc) is list:  # a bare list of records, as pandas' to_json(orient="records")
            return self._records(doc)
        raise bad(
            f'the body is {_json_kind(doc)}; send an object: {{"records": [...]}}, '
            '{"columns": [...], "data": [[...]]} or one row {"column": value, ...}',
            problem="shape",
        )

    def _records(self, items: Any) -> Parsed:
        if type(items) is not list:
            raise bad(
                f"records must be a list of objects, not {_json_kind(items)}", problem="shape"
            )
        if not items:
            raise bad("the request has no rows; send at least one", problem="empty")
        _limit(len(items))
        if self.all_float and len(items) > 1 and self.sticky_key is None:
            array = self._float_records(items)
            if array is not None:
                return Parsed(None, None, array)
        read = self.record_with_key if self.sticky_key is not None else self.record
        return Parsed([read(obj, n) for n, obj in enumerate(items, 1)], None)

    def _float_records(self, items: list[Any]) -> np.ndarray[Any, Any] | None:
        names, numbers, pick = self.name_set, self._numbers, self._pick
        width = len(self.names)
        rows = []
        for obj in items:
            if type(obj) is not dict or len(obj) != width or obj.keys() != names:
                return None
            values = pick(obj) if width > 1 else (obj[self.names[0]],)
            if not numbers.issuperset(map(type, values)):
                return None
            rows.append(values)
        import numpy as np

        return np.array(rows, dtype=np.float64)

    def _float_data(self, data: list[Any], order: list[int]) -> np.ndarray[Any, Any] | None:
        numbers = self._numbers
        width = len(order)
        for item in data:
            if (
                type(item) is not list
                or len(item) != width
                or not numbers.issuperset(map(type, item))
            ):
                return None
        import numpy as np

        array = np.array(data, dtype=np.float64)
        return array if order == list(range(width)) else array[:, order]

    def _wrapped(self, doc: dict[str, Any]) -> Parsed:
        if "inputs" in doc:
            return self.parse_v2(doc)
        if "records" in doc or "dataframe_records" in doc:
            return self._records(doc.get("records", doc.get("dataframe_records")))
        split = doc.get("dataframe_split", doc)
        if type(split) is not dict:
            raise bad("dataframe_split must be an object with columns and data", problem="shape")
        return self._split(split.get("columns"), split.get("data"))

    def _split(self, columns: Any, data: Any) -> Parsed:
        if type(columns) is not list or not all(type(c) is str for c in columns):
            raise bad("columns must be a list of column names", problem="shape")
        if type(data) is not list:
            raise bad("data must be a list of rows (lists of values)", problem="shape")
        if not data:
            raise bad("the request has no rows; send at least one", problem="empty")
        _limit(len(data))
        if len(set(columns)) != len(columns):
            dup = next(c for c in columns if columns.count(c) > 1)
            raise bad(f"column {dup!r} is named twice in columns", column=dup, problem="extra")
        keep = [(j, c) for j, c in enumerate(columns) if c != self.sticky_key]
        self._columns_problem([c for _, c in keep])
        order = [next(j for j, c in keep if c == n) for n in self.names]
        width = len(columns)
        if self.all_float and len(data) > 1 and width == len(order):
            array = self._float_data(data, order)
            if array is not None:
                return Parsed(None, None, array)
        value = self.value
        rows = []
        for r, item in enumerate(data, 1):
            if type(item) is not list or len(item) != width:
                raise bad(
                    f"row {r} of data is not a list of {width} values (one per column)",
                    problem="shape",
                )
            rows.append(tuple([value(i, item[j], r) for i, j in enumerate(order)]))
        return Parsed(rows, None)

    def parse_v2(self, doc: Any) -> Parsed:
        """An Open Inference Protocol v2 request: one tensor per column (named as the column,
        shape ``[n]`` or ``[n, 1]``), or one 2-D tensor ``[n, columns]`` in signature order."""
        inputs = doc.get("inputs") if type(doc) is dict else None
        if type(inputs) is not list or not inputs:
            raise bad("a v2 request needs inputs: a non-empty list of tensors", problem="shape")
        tensors = []
        for t in inputs:
            if type(t) is not dict or type(t.get("name")) is not str:
                raise bad("each v2 input needs a name, shape, datatype and data", problem="shape")
            shape, data = t.get("shape"), t.get("data")
            if type(shape) is not list or not all(type(n) is int and n >= 0 for n in shape):
                raise bad(f"input {t['name']!r} needs a shape: a list of sizes", problem="shape")
            if type(data) is not list:
                raise bad(f"input {t['name']!r} needs its data as a list", problem="shape")
            tensors.append((t["name"], shape, _flatten(data)))
        if len(tensors) == 1 and tensors[0][0] not in self.index:
            name, shape, flat = tensors[0]
            width = len(self.names)
            if len(shape) != 2 or shape[1] != width or len(flat) != shape[0] * width:
                raise bad(
                    f"input {name!r} is not a column of the model; a single tensor must have "
                    f"shape [rows, {width}] with the columns in the signature's order "
                    f"({', '.join(self.names[:10])}), and data of that size",
                    problem="shape",
                )
            _limit(shape[0])
            return Parsed(self._rows_of(flat, shape[0], width), None)
        by_name: dict[str, list[Any]] = {}
        rows_n: int | None = None
        for name, shape, flat in tensors:
            n = shape[0] if shape else 0
            if len(shape) not in (1, 2) or (len(shape) == 2 and shape[1] != 1) or len(flat) != n:
                raise bad(
                    f"input {name!r} must have shape [rows] or [rows, 1] and that many values",
                    column=name,
                    problem="shape",
                )
            if rows_n is not None and n != rows_n:
                raise bad(
                    f"input {name!r} has {n} rows but the others have {rows_n}",
                    column=name,
                    problem="shape",
                )
            rows_n = n
            if name in by_name:
                raise bad(f"input {name!r} is given twice", column=name, problem="extra")
            by_name[name] = flat
        self._columns_problem(by_name.keys())
        if not rows_n:
            raise bad("the request has no rows; send at least one", problem="empty")
        _limit(rows_n)
        columns = [by_name[n] for n in self.names]
        value = self.value
        rows = [
            tuple([value(i, col[r], r + 1) for i, col in enumerate(columns)]) for r in range(rows_n)
        ]
        return Parsed(rows, None)

    def _rows_of(self, flat: list[Any], n: int, width: int) -> list[tuple[Any, ...]]:
        value = self.value
        return [
            tuple([value(i, flat[r * width + i], r + 1) for i in range(width)]) for r in range(n)
        ]

    # --- CSV and Arrow ------------------------------------------------------------------------

    def parse_csv(self, body: bytes) -> Parsed:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        types = {n: _ARROW[t]() for n, t in zip(self.names, self.types, strict=True)}
        try:
            table = pacsv.read_csv(
                pa.py_buffer(body),
                convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=True),
            )
        except pa.ArrowInvalid as exc:
            raise bad(
                f"the CSV body does not read as the model's columns: {exc}", problem="csv"
            ) from None
        return self._table(table)

    def parse_arrow(self, body: bytes) -> Parsed:
        import pyarrow as pa
        import pyarrow.ipc

        try:
            table = pyarrow.ipc.open_stream(pa.py_buffer(body)).read_all()
        except (pa.ArrowInvalid, OSError) as first:
            try:
                table = pyarrow.ipc.open_file(pa.py_buffer(body)).read_all()
            except (pa.ArrowInvalid, OSError):
                raise bad(
                    f"the body is not an Arrow IPC stream: {first}", problem="arrow"
                ) from None
        return self._table(table)

    def _table(self, table: Any) -> Parsed:
        from relayml.flavors.signature import enforce

        if table.num_rows == 0:
            raise bad("the request has no rows; send at least one", problem="empty")
        _limit(table.num_rows)
        names = [n for n in table.column_names if n != self.sticky_key]
        self._columns_problem(names)
        # integers with nulls stay integers (pandas' nullable Int64), as the signature says
        frame = table.select(names).to_pandas(types_mapper=_nullable_ints)
        try:
            return Parsed(None, enforce(self.signature, frame))
        except InvalidInput as exc:
            column = _column_in(exc.message, self.names)
            raise bad(exc.message, column=column, problem=_problem_in(exc.message)) from None


def _nullable_ints(arrow_type: Any) -> Any:
    import pandas as pd
    import pyarrow as pa

    return pd.Int64Dtype() if pa.types.is_integer(arrow_type) else None


def decode_json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise bad(f"the body is not valid JSON: {exc}", problem="json") from None


def sticky_value(doc: Any, field: str) -> str | None:
    """The sticky key's value in a decoded JSON body: the field of its first record (or of the
    first row of ``columns``/``data``, or a v2 input named so); None when it has none."""
    if type(doc) is list:
        return _field(doc[0], field) if doc else None
    if type(doc) is not dict:
        return None
    if field in doc and not isinstance(doc[field], dict | list):
        return _text(doc[field])
    records = doc.get("records", doc.get("dataframe_records"))
    if type(records) is list:
        return _field(records[0], field) if records else None
    split = doc.get("dataframe_split", doc)
    if type(split) is dict and type(split.get("columns")) is list and field in split["columns"]:
        data = split.get("data")
        at = split["columns"].index(field)
        if type(data) is list and data and type(data[0]) is list and len(data[0]) > at:
            return _text(data[0][at])
    inputs = doc.get("inputs")
    if type(inputs) is list:
        for t in inputs:
            if type(t) is dict and t.get("name") == field and type(t.get("data")) is list:
                flat = _flatten(t["data"])
                return _text(flat[0]) if flat else None
    return None


def _field(obj: Any, field: str) -> str | None:
    return _text(obj.get(field)) if type(obj) is dict else None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _flatten(data: list[Any]) -> list[Any]:
    if data and type(data[0]) is list:
        out: list[Any] = []
        for item in data:
            if type(item) is list:
                out.extend(_flatten(item))
            else:
                out.append(item)
        return out
    return data


def _limit(rows: int) -> None:
    if rows > MAX_ROWS:
        raise bad(
            f"the request has {rows} rows; one request takes at most {MAX_ROWS} "
            "(split it, or score files with relay score)",
            problem="too_many_rows",
        )


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _column_in(message: str, names: tuple[str, ...]) -> str | None:
    for n in names:
        if f"{n!r}" in message:
            return n
    return None


def _problem_in(message: str) -> str:
    if "null" in message:
        return "null"
    if "missing" in message:
        return "missing"
    if "unexpected" in message:
        return "extra"
    return "type"


_WANT = {
    ColumnType.FLOAT: "a number",
    ColumnType.INTEGER: "an integer (no decimal point)",
    ColumnType.STRING: "a string",
    ColumnType.BOOLEAN: "true or false",
    ColumnType.DATETIME: "an ISO 8601 date-time string",
}


def _arrow_float() -> Any:
    import pyarrow as pa

    return pa.float64()


def _arrow_int() -> Any:
    import pyarrow as pa

    return pa.int64()


def _arrow_bool() -> Any:
    import pyarrow as pa

    return pa.bool_()


def _arrow_str() -> Any:
    import pyarrow as pa

    return pa.string()


def _arrow_time() -> Any:
    import pyarrow as pa

    return pa.timestamp("us")


_ARROW = {
    ColumnType.FLOAT: _arrow_float,
    ColumnType.INTEGER: _arrow_int,
    ColumnType.BOOLEAN: _arrow_bool,
    ColumnType.STRING: _arrow_str,
    ColumnType.DATETIME: _arrow_time,
}
