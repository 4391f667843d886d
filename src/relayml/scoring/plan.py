"""What a scoring job reads and writes, decided from the input's schema and the model before
any data is read, and the scoring of one batch (the same function locally and on Ray).

Output columns: the input columns kept (`columns_out`, default all), then ``prediction``,
then for a classifier with probabilities one ``probability_<class>`` column per class, in the
model's class order. The Parquet schema's metadata key ``relay.scoring`` holds JSON naming the
model version that scored it (ref, model, version, digest, flavor, project), the classes and
the time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from relayml.domain.models import ColumnType, ModelVersion, Signature
from relayml.errors import InvalidInput, Unprocessable
from relayml.scoring import METADATA_KEY
from relayml.version import __version__

PREDICTION = "prediction"
PROBABILITY = "probability_"
_SHOWN = 10

# What a signature's declared type reads from (integers widen to floats, as the model takes).
_FITS = {
    ColumnType.INTEGER: (ColumnType.INTEGER,),
    ColumnType.FLOAT: (ColumnType.FLOAT, ColumnType.INTEGER),
    ColumnType.BOOLEAN: (ColumnType.BOOLEAN,),
    ColumnType.STRING: (ColumnType.STRING,),
    ColumnType.DATETIME: (ColumnType.DATETIME,),
}
_ARROW_OUT = {
    ColumnType.INTEGER: pa.int64(),
    ColumnType.FLOAT: pa.float64(),
    ColumnType.BOOLEAN: pa.bool_(),
    ColumnType.STRING: pa.string(),
    ColumnType.DATETIME: pa.timestamp("us"),
}


@dataclass(frozen=True)
class Plan:
    """The columns a scoring job reads, keeps and writes, and the metadata it stamps."""

    features: tuple[str, ...]  # what the model takes, in its order
    carried: tuple[str, ...]  # input columns copied to the output, in input order
    classes: tuple[Any, ...] | None  # a classifier's classes, when known before scoring
    metadata: dict[str, str]  # the output's Parquet schema metadata

    @property
    def read(self) -> list[str]:
        """The input columns to decode: the kept ones, then the model's others."""
        kept = set(self.carried)
        return [*self.carried, *(f for f in self.features if f not in kept)]

    def output_names(self, probabilities: int) -> list[str]:
        classes = self.classes if self.classes and len(self.classes) == probabilities else None
        labels = classes if classes is not None else range(probabilities)
        return [*self.carried, PREDICTION, *(f"{PROBABILITY}{c}" for c in labels)]


def _names(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


def arrow_kind(t: pa.DataType) -> ColumnType | None:
    """A column's Arrow type in a signature's vocabulary (None: not one of them)."""
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_boolean(t):
        return ColumnType.BOOLEAN
    if pa.types.is_integer(t):
        return ColumnType.INTEGER
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return ColumnType.FLOAT
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return ColumnType.STRING
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return ColumnType.DATETIME
    return None


def _check_types(signature: Signature, schema: pa.Schema, where: str) -> None:
    for spec in signature.inputs:
        t = schema.field(spec.name).type
        found = arrow_kind(t)
        if pa.types.is_null(t) or found is None or found in _FITS[spec.type]:
            continue  # an all-null column, or one the per-batch check reads value by value
        raise InvalidInput(
            f"column {spec.name!r} of {where} holds {found.value} values (Arrow {t}) but the "
            f"model's signature declares "
            f"{spec.type.value}; convert the column (or score with a model whose signature "
            "matches this data)",
            column=spec.name,
            expected=spec.type.value,
            found=str(t),
        )


def _features(model: Any, schema: pa.Schema, where: str) -> tuple[str, ...]:
    names = list(schema.names)
    wanted: list[str] | None = model.feature_names
    if wanted is None:
        return tuple(names)  # no signature and no fitted names: the model takes them all
    missing = [n for n in wanted if n not in set(names)]
    if missing:
        sig = model.signature
        described = [f"{n!r} ({sig.column(n).type.value})" if sig else repr(n) for n in missing]
        raise InvalidInput(
            f"{where} lacks the column(s) the model takes: {', '.join(described[:_SHOWN])}"
            + (f" and {len(missing) - _SHOWN} more" if len(missing) > _SHOWN else "")
            + f". It has {_names(names)}; give a table with every column of the model's "
            "signature (relay models show REF lists them)",
            missing=missing,
        )
    if model.signature is not None:
        _check_types(model.signature, schema, where)
    return tuple(wanted)


def _carried(columns_out: list[str] | None, schema: pa.Schema, where: str) -> tuple[str, ...]:
    names = list(schema.names)
    if columns_out is None:
        return tuple(names)
    unknown = [c for c in columns_out if c not in set(names)]
    if unknown:
        raise InvalidInput(
            f"--columns-out names column(s) {_names(unknown)} that {where} does not have; "
            f"it has {_names(names)}"
        )
    if len(set(columns_out)) != len(columns_out):
        raise InvalidInput("--columns-out names a column twice; name each once")
    keep = set(columns_out)
    return tuple(n for n in names if n in keep)


def make_plan(
    model: Any,
    version: ModelVersion,
    *,
    ref: str,
    schema: pa.Schema,
    columns_out: list[str] | None,
    where: str,
) -> Plan:
    """The plan for scoring a table of `schema` (read from `where`) with `model` (a
    LoadedModel of `version`, asked for as `ref`); InvalidInput naming the column when the
    table cannot be scored, before any data is read."""
    features = _features(model, schema, where)
    carried = _carried(columns_out, schema, where)
    classes = tuple(model.classes) if model.has_proba and model.classes is not None else None
    plan = Plan(features, carried, classes, {})
    taken = [c for c in carried if c in plan.output_names(len(classes or ()))[len(carried) :]]
    if taken:
        raise InvalidInput(
            f"{where} has column(s) {_names(taken)}, which scoring writes; keep the other "
            "columns with --columns-out (columns_out=[...]) or rename these",
            columns=taken,
        )
    stamp = {
        "ref": ref,
        "project": version.project,
        "model": version.name,
        "version": version.version,
        "digest": version.digest,
        "flavor": version.flavor.value,
        "prediction": PREDICTION,
        "classes": list(classes) if classes is not None else None,
        "scored_at": datetime.now(UTC).isoformat(),
        "relay_version": __version__,
    }
    return Plan(features, carried, classes, {METADATA_KEY: json.dumps(stamp, default=str)})


def _column(values: Any, rows: int) -> pa.Array:
    import numpy as np

    array = np.asarray(values)
    if array.ndim == 0 or len(array) != rows:
        got = "one value" if array.ndim == 0 else f"{len(array)} values"
        raise Unprocessable(f"the model answered {got} for {rows} rows; it must give one per row")
    if array.ndim == 1:
        return pa.array(array)
    flat = pa.array(array.reshape(rows, -1).ravel())
    return pa.FixedSizeListArray.from_arrays(flat, int(np.prod(array.shape[1:])))


def score_table(model: Any, plan: Plan, table: pa.Table) -> pa.Table:
    """`table` scored: its kept columns, the prediction and the probabilities."""
    rows = table.num_rows
    frame = table.select(list(plan.features)).to_pandas()
    prediction, proba = model.predict_with_proba(frame)
    columns = [table.column(c) for c in plan.carried]
    columns.append(_column(prediction, rows))
    width = 0
    if proba is not None:
        proba = proba.reshape(rows, -1)
        width = proba.shape[1]
        columns += [pa.array(proba[:, i], pa.float64()) for i in range(width)]
    return pa.Table.from_arrays(columns, names=plan.output_names(width))


def empty_schema(model: Any, plan: Plan, schema: pa.Schema) -> pa.Schema:
    """The output's schema when there is no row to score (types from the signature)."""
    sig: Signature | None = model.signature
    kind = _ARROW_OUT[sig.output.dtype] if sig is not None else pa.float64()
    width = len(plan.classes) if plan.classes is not None else 0
    names = plan.output_names(width)
    fields = [schema.field(c) for c in plan.carried]
    fields.append(pa.field(PREDICTION, kind))
    fields += [pa.field(n, pa.float64()) for n in names[len(plan.carried) + 1 :]]
    return pa.schema(fields, metadata=plan.metadata)
