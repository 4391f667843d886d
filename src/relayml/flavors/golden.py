"""A model version's golden set: input rows with the outputs the model gave on them when it
was registered, as one small Parquet file.

    data = build_golden(loaded, input_example=X[:5], golden=X_test.sample(500))
    golden = read_golden(data, signature)          # checked against the signature
    golden.records()                               # the rows as JSON records for a server
    differences(golden, predictions, probabilities, classes, atol=1e-6)

The outputs are computed by the saved artifact loaded back (``load_model``), so they are what
the registered bytes give, as a model server would run them: ``predict``'s labels (or values)
and, for a classifier, ``predict_proba``'s probabilities in its classes' order. The file holds
the signature's columns, then ``relay:source`` (``input_example`` or ``golden``) and
``relay:row`` (the row's number in what was given), ``relay:prediction`` and, for a classifier,
``relay:probabilities`` (a list per row); its schema metadata keeps the classes.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from relayml.domain.models import MAX_GOLDEN_BYTES, MAX_GOLDEN_ROWS, OutputKind, Signature
from relayml.errors import InvalidInput
from relayml.flavors.signature import enforce

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from relayml.flavors.formats import LoadedModel

SOURCE = "relay:source"
ROW = "relay:row"
PREDICTION = "relay:prediction"
PROBABILITIES = "relay:probabilities"
RESERVED = (SOURCE, ROW, PREDICTION, PROBABILITIES)
_META = b"relay.golden"
_FORMAT = 1
FROM_EXAMPLE = "input_example"
FROM_GOLDEN = "golden"


@dataclass(frozen=True)
class Golden:
    """A golden set read back: the input rows (the signature's columns, as the model takes
    them), where each row came from, and the outputs recorded at registration."""

    inputs: pd.DataFrame
    sources: list[str]
    rows: list[int]
    predictions: list[Any]
    probabilities: np.ndarray[Any, Any] | None  # rows x classes
    classes: list[Any] | None
    kind: OutputKind

    def __len__(self) -> int:
        return len(self.sources)

    def where(self, i: int) -> str:
        """Row `i` in words: ``row 3 of the input example``."""
        what = "the input example" if self.sources[i] == FROM_EXAMPLE else "the golden sample"
        return f"row {self.rows[i]} of {what}"

    def records(self) -> list[dict[str, Any]]:
        """The input rows as JSON records, the way a client sends them to a model server
        (nulls as null, date-times as ISO 8601 text)."""
        import pyarrow as pa

        table = pa.Table.from_pandas(self.inputs, preserve_index=False)
        return [{k: _json_value(v) for k, v in row.items()} for row in table.to_pylist()]


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _part(signature: Signature, data: Any, what: str, cap: int, refuse: bool) -> pd.DataFrame:
    try:
        frame = enforce(signature, data)
    except InvalidInput as exc:
        raise InvalidInput(f"the {what} does not fit the signature: {exc.message}") from None
    if len(frame) == 0:
        raise InvalidInput(f"the {what} has no rows; give at least one, or leave it out")
    if len(frame) > cap:
        if refuse:
            raise InvalidInput(
                f"the {what} has {len(frame)} rows; a golden set keeps at most {cap}: give a "
                f"sample (e.g. golden=X_test.sample({cap}, random_state=0))"
            )
        frame = frame.iloc[:cap]
    return frame.reset_index(drop=True)


def build_golden(model: LoadedModel, *, input_example: Any = None, golden: Any = None) -> bytes:
    """The golden-set file of `model` (loaded from its saved bytes): the first rows (at most
    ``MAX_GOLDEN_ROWS``) of `input_example` and every row of `golden` (refused past
    ``MAX_GOLDEN_ROWS``), with the outputs the model gives on them."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    signature = model.signature
    if signature is None:
        raise InvalidInput(
            "a golden set needs the model's signature: give an input example to infer it"
        )
    taken = [n for n in signature.names if n in RESERVED]
    if taken:
        raise InvalidInput(f"column(s) {taken} are names Relay's golden set uses; rename them")
    parts: list[tuple[str, pd.DataFrame]] = []
    if input_example is not None:
        parts.append((FROM_EXAMPLE, _part(signature, input_example, "input example",
                                          MAX_GOLDEN_ROWS, refuse=False)))  # fmt: skip
    if golden is not None:
        parts.append((FROM_GOLDEN, _part(signature, golden, "golden sample",
                                         MAX_GOLDEN_ROWS, refuse=True)))  # fmt: skip
    if not parts:
        raise InvalidInput("give an input example or a golden sample to build a golden set from")
    frame = pd.concat([f for _, f in parts], ignore_index=True)
    labels = np.asarray(model.predict(frame))
    classes = model.classes
    proba = None
    if model.has_proba and classes is not None:
        proba = np.asarray(model.predict_proba(frame), dtype=np.float64)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.append_column(SOURCE, pa.array([s for s, f in parts for _ in range(len(f))]))
    table = table.append_column(
        ROW, pa.array([i for _, f in parts for i in range(len(f))], pa.int64())
    )
    table = table.append_column(PREDICTION, _output_array(labels))
    if proba is not None:
        table = table.append_column(PROBABILITIES, pa.array(proba.tolist(), pa.list_(pa.float64())))
    meta = {"format": _FORMAT, "classes": None if classes is None else _plain(list(classes))}
    table = table.replace_schema_metadata({_META: json.dumps(meta).encode()})
    sink = io.BytesIO()
    pq.write_table(table, sink)
    data = sink.getvalue()
    if len(data) > MAX_GOLDEN_BYTES:
        raise InvalidInput(
            f"the golden set is {len(data)} bytes; the registry keeps at most "
            f"{MAX_GOLDEN_BYTES}: give fewer rows"
        )
    return data


def _output_array(labels: np.ndarray[Any, Any]) -> Any:
    """One value per row (a list per row for a model with several outputs)."""
    import pyarrow as pa

    return pa.array(_plain(labels.tolist()))


def _plain(values: list[Any]) -> list[Any]:
    return [v.item() if type(v).__module__ == "numpy" else v for v in values]


def read_golden(data: bytes, signature: Signature | None) -> Golden:
    """A golden-set file read and checked: a Parquet file as `build_golden` writes, whose input
    columns are `signature`'s, with at most twice ``MAX_GOLDEN_ROWS`` rows."""
    import numpy as np
    import pyarrow.parquet as pq

    if signature is None:
        raise InvalidInput("a golden set needs the version's signature; this one has none")
    if len(data) > MAX_GOLDEN_BYTES:
        raise InvalidInput(f"a golden set is at most {MAX_GOLDEN_BYTES} bytes, not {len(data)}")
    try:
        table = pq.read_table(io.BytesIO(data))
    except Exception as exc:
        raise InvalidInput(f"the golden set is not a readable Parquet file: {exc}") from None
    raw = (table.schema.metadata or {}).get(_META)
    try:
        meta = json.loads(raw) if raw is not None else None
    except ValueError:
        meta = None
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
        raise InvalidInput("the file is not a Relay golden set (its schema metadata says none)")
    classes = meta.get("classes")
    names = signature.names
    want = [*names, SOURCE, ROW, PREDICTION]
    if classes is not None:
        want.append(PROBABILITIES)
    if table.column_names != want:
        raise InvalidInput(
            f"the golden set's columns are {table.column_names[:20]}; a golden set of this "
            f"signature has {want[:20]}"
        )
    n = table.num_rows
    if not 1 <= n <= 2 * MAX_GOLDEN_ROWS:
        raise InvalidInput(f"a golden set has 1 to {2 * MAX_GOLDEN_ROWS} rows, not {n}")
    inputs = enforce(signature, table.select(names).to_pandas())
    sources = table.column(SOURCE).to_pylist()
    if not all(s in (FROM_EXAMPLE, FROM_GOLDEN) for s in sources):
        raise InvalidInput(f"the golden set's {SOURCE} holds values other than its two sources")
    proba = None
    if classes is not None:
        if not isinstance(classes, list) or not classes:
            raise InvalidInput("the golden set's classes must be a non-empty list")
        listed = table.column(PROBABILITIES).to_pylist()
        if not all(isinstance(r, list) and len(r) == len(classes) for r in listed):
            raise InvalidInput(
                f"every row's probabilities must have one value per class ({len(classes)})"
            )
        proba = np.asarray(listed, dtype=np.float64)
    return Golden(
        inputs=inputs,
        sources=sources,
        rows=[int(r) for r in table.column(ROW).to_pylist()],
        predictions=table.column(PREDICTION).to_pylist(),
        probabilities=proba,
        classes=classes,
        kind=signature.output.kind,
    )


@dataclass(frozen=True)
class Difference:
    """One output that is not what was recorded: the golden row (its index, and where it came
    from in words), the output (``prediction`` or ``probability[<class>]``), both values."""

    row: int
    where: str
    output: str
    recorded: Any
    served: Any


def differences(
    golden: Golden,
    predictions: list[Any],
    probabilities: Any,
    classes: list[Any] | None,
    *,
    atol: float = 1e-6,
) -> list[Difference]:
    """Every output of the answers that differs from the recorded one: labels must be equal,
    numbers (a regressor's values, probabilities) within `atol`. A class the answer lacks or
    adds, or a missing probability, is a difference of its own."""
    import numpy as np

    if not isinstance(atol, int | float) or isinstance(atol, bool) or not atol >= 0:
        raise InvalidInput(f"the tolerance must be a number >= 0, not {atol!r}")
    found: list[Difference] = []
    if len(predictions) != len(golden):
        raise InvalidInput(
            f"the answers hold {len(predictions)} predictions for {len(golden)} golden rows"
        )
    numeric = golden.kind is OutputKind.VALUE
    for i, (want, got) in enumerate(zip(golden.predictions, predictions, strict=True)):
        same = _close(want, got, atol) if numeric else want == got
        if not same:
            found.append(Difference(i, golden.where(i), "prediction", want, got))
    if golden.probabilities is None or golden.classes is None:
        return found
    if probabilities is None or classes is None:
        found.append(Difference(-1, "every row", "probabilities", golden.classes, None))
        return found
    served = np.asarray(probabilities, dtype=np.float64)
    column = {_key(c): j for j, c in enumerate(classes)}
    for j, cls in enumerate(golden.classes):
        k = column.get(_key(cls))
        if k is None:
            found.append(Difference(-1, "every row", f"probability[{cls}]", "a class", None))
            continue
        off = ~np.isclose(golden.probabilities[:, j], served[:, k], rtol=0.0, atol=atol)
        for i in np.flatnonzero(off).tolist():
            found.append(
                Difference(
                    i,
                    golden.where(i),
                    f"probability[{cls}]",
                    float(golden.probabilities[i, j]),
                    float(served[i, k]),
                )
            )
    extra = {_key(c) for c in classes} - {_key(c) for c in golden.classes}
    for cls in sorted(extra):
        found.append(Difference(-1, "every row", f"probability[{cls}]", None, "a class"))
    return found


def _key(cls: Any) -> str:
    return json.dumps(cls)


def _close(want: Any, got: Any, atol: float) -> bool:
    import numpy as np

    try:
        a = np.asarray(want, dtype=np.float64)
        b = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return bool(want == got)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=0.0, atol=atol, equal_nan=True))
