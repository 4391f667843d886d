"""Column type names in contracts, and whether an Arrow type satisfies one.

Exact Arrow names (`int64`, `float32`, `timestamp[us]`) match exactly; families match any
member: `integer`, `float`, `numeric`, `string` (string, large_string, string_view), `bool`,
`timestamp` (any unit or time zone), `date`, `decimal`, `binary`. Dictionary-encoded columns
match on their value type. pyarrow is imported inside the functions that need it.
"""

from __future__ import annotations

from typing import Any

EXACT = (
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64",
)  # fmt: skip
FAMILIES = (
    "integer", "float", "numeric", "string", "bool", "timestamp", "date", "decimal", "binary",
)  # fmt: skip
ALIASES = {"double": "float64", "boolean": "bool", "str": "string", "int": "integer"}
TYPE_NAMES = ", ".join((*FAMILIES, *EXACT, "timestamp[unit, tz=...]"))


def is_known_type(name: str) -> bool:
    name = ALIASES.get(name, name)
    return name in EXACT or name in FAMILIES or name.startswith("timestamp[")


def matches(declared: str, arrow_type: Any) -> bool:
    """True when a column of `arrow_type` satisfies the declared type name."""
    import pyarrow as pa

    t = arrow_type.value_type if pa.types.is_dictionary(arrow_type) else arrow_type
    name = ALIASES.get(declared, declared)
    family = {
        "integer": pa.types.is_integer,
        "float": pa.types.is_floating,
        "numeric": lambda x: (
            pa.types.is_integer(x) or pa.types.is_floating(x) or pa.types.is_decimal(x)
        ),
        "string": lambda x: (
            pa.types.is_string(x) or pa.types.is_large_string(x) or str(x) == "string_view"
        ),
        "bool": pa.types.is_boolean,
        "timestamp": pa.types.is_timestamp,
        "date": pa.types.is_date,
        "decimal": pa.types.is_decimal,
        "binary": lambda x: pa.types.is_binary(x) or pa.types.is_large_binary(x),
    }.get(name)
    if family is not None:
        return bool(family(t))
    return _arrow_name(t) == name


def _arrow_name(t: Any) -> str:
    text = str(t)
    return {"double": "float64", "float": "float32", "halffloat": "float16"}.get(text, text)


def type_name(arrow_type: Any) -> str:
    """The contract name to write for a column of this Arrow type (used by `infer_contract`)."""
    import pyarrow as pa

    t = arrow_type.value_type if pa.types.is_dictionary(arrow_type) else arrow_type
    for family in ("string", "timestamp", "date", "decimal", "binary", "bool"):
        if matches(family, t):
            return family
    return _arrow_name(t)


# The type a CSV column is read as when the contract declares a family: one member that holds
# every value of the family. `numeric`, `timestamp`, `decimal` and `binary` name no single
# type (an int or a float; a unit and a zone; a precision), so those columns are inferred.
_READ_AS = {"integer": "int64", "float": "float64", "string": "string", "bool": "bool",
            "date": "date32"}  # fmt: skip


def read_types(contract: Any) -> dict[str, str]:
    """Column -> the type to read a CSV column as, for each column whose contract type names
    one (exact names as they are, families as ``_READ_AS`` says)."""
    out: dict[str, str] = {}
    for column in contract.columns:
        if column.type is None:
            continue
        name = ALIASES.get(column.type, column.type)
        if name in EXACT or name.startswith("timestamp["):
            out[column.name] = name
        elif name in _READ_AS:
            out[column.name] = _READ_AS[name]
    return out
