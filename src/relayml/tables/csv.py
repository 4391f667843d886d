"""The one CSV reader: publish, contract checks and drift all read CSV files here.

A file is read block by block (``CSV_BLOCK`` bytes), so memory stays bounded by one block.
Each column's type comes, in this order, from the caller's explicit ``dtypes`` (``--dtype
col=type``, ``dtypes=``), from the contract's declared types (``contract_types``), or is
inferred by pyarrow from the first block. A later value that does not fit its column's type
is reported with the column, the data row (1-based, the header not counted), the column's type
and the type the value looks like, and the ``--dtype`` that reads it.

pyarrow is imported inside the functions, so importing this module costs nothing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from relayml.errors import InvalidInput, NotFound

CSV_BLOCK = 16 << 20
CSV_SUFFIXES = (".csv", ".tsv", ".txt")
TYPE_EXAMPLES = "int64, float64, string, bool, date32 or timestamp[s]"
# Names users (and contracts) write that pyarrow's own aliases do not know.
ALIASES = {
    "integer": "int64",
    "int": "int64",
    "float": "float64",
    "double": "float64",
    "str": "string",
    "text": "string",
    "boolean": "bool",
    "date": "date32",
    "timestamp": "timestamp[us]",
}
_TIMESTAMP = re.compile(r"timestamp\[(s|ms|us|ns)(?:,\s*tz=([^\]]+))?\]$")
_ARROW_ERROR = re.compile(  # pyarrow's message, which names the column by position, not the row
    r"In CSV column #(\d+): CSV conversion error to [^:]+: invalid value '(.*)'$"
)


def is_csv(path: str | os.PathLike[str]) -> bool:
    """A path whose name says CSV (``data.csv``, ``data.csv.gz``, ``data.tsv``, ``data.txt``)."""
    return any(s.lower() in CSV_SUFFIXES for s in Path(path).suffixes)


def arrow_type(name: str, column: str) -> Any:
    """The Arrow type a type name means: pyarrow's names, ``timestamp[unit, tz=...]`` and the
    contract's words (``integer``, ``float``, ``string``, ``bool``, ``date``)."""
    import pyarrow as pa

    text = ALIASES.get(str(name).strip().lower(), str(name).strip())
    match = _TIMESTAMP.match(text)
    if match:
        return pa.timestamp(match.group(1), tz=match.group(2))
    try:
        return pa.type_for_alias(text)
    except (ValueError, KeyError):
        raise InvalidInput(
            f"unknown type {name!r} for column {column!r}; use an Arrow type name such as "
            f"{TYPE_EXAMPLES}",
            column=column,
        ) from None


def parse_dtype_options(items: Iterable[str]) -> dict[str, str]:
    """``["zip=string", "age=int64"]`` (the CLI's repeatable ``--dtype``) as a mapping."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, kind = item.partition("=")
        if not sep or not name.strip() or not kind.strip():
            raise InvalidInput(f"--dtype takes column=type (e.g. zip=string), got {item!r}")
        arrow_type(kind.strip(), name.strip())
        out[name.strip()] = kind.strip()
    return out


def open_csv(
    path: str | os.PathLike[str],
    dtypes: Mapping[str, str] | None = None,
    *,
    contract_types: Mapping[str, str] | None = None,
    declared_in: str = "the contract",
) -> tuple[Any, Iterator[Any]]:
    """``(schema, record batches)`` of a CSV file, read block by block with the given types.

    ``dtypes`` must name columns the file has; ``contract_types`` (a contract's declared
    types, for columns it has, or a model signature's: ``declared_in`` says which, for the
    error message) give way to ``dtypes``.
    """
    import pyarrow as pa
    import pyarrow.csv as pcsv

    path = Path(path)
    if not path.is_file():
        raise NotFound(f"no such file: {str(path)!r}; give the path of a Parquet or CSV file")
    given = {name: arrow_type(text, name) for name, text in (dtypes or {}).items()}
    declared = {name: arrow_type(text, name) for name, text in (contract_types or {}).items()}
    origin = {**dict.fromkeys(declared, "contract"), **dict.fromkeys(given, "given")}
    parse = pcsv.ParseOptions(delimiter="\t" if ".tsv" in path.suffixes else ",")
    read = pcsv.ReadOptions(block_size=CSV_BLOCK)
    convert = pcsv.ConvertOptions(column_types={**declared, **given})
    try:
        reader = pcsv.open_csv(path, read_options=read, parse_options=parse,
                               convert_options=convert)  # fmt: skip
    except pa.ArrowInvalid as exc:
        failure = _Failure(path, parse, {**declared, **given}, origin, declared_in)
        raise failure.error(exc, 0) from None
    except OSError as exc:
        raise InvalidInput(f"cannot read CSV file {str(path)!r}: {exc}") from None
    unknown = [c for c in given if c not in reader.schema.names]
    if unknown:
        raise InvalidInput(
            f"dtypes name column(s) {unknown} that CSV file {str(path)!r} does not have; "
            f"it has {reader.schema.names}"
        )
    schema = reader.schema.remove_metadata()
    types = dict(zip(schema.names, schema.types, strict=True))
    failure = _Failure(path, parse, types, origin, declared_in)
    return schema, _batches(reader, failure)


def _batches(reader: Any, failure: _Failure) -> Iterator[Any]:
    import pyarrow as pa

    rows = 0
    try:
        for batch in reader:
            rows += batch.num_rows
            yield batch.replace_schema_metadata(None)
    except pa.ArrowInvalid as exc:  # a later block that does not fit a column's type
        raise failure.error(exc, rows) from None
    finally:
        reader.close()


class _Failure:
    """Explains a conversion error: which column, which row, which two types."""

    def __init__(
        self,
        path: Path,
        parse: Any,
        types: Mapping[str, Any],
        origin: dict[str, str],
        declared_in: str,
    ) -> None:
        self.path, self.parse, self.types, self.origin = path, parse, types, origin
        self.declared_in = declared_in

    def error(self, exc: Exception, start: int) -> InvalidInput:
        found = self._locate(str(exc), start)
        if found is None:
            return InvalidInput(
                f"cannot read CSV file {str(self.path)!r}: {exc}. Give the column's type "
                "explicitly (--dtype column=type, dtypes={column: type}) or convert the file "
                "to Parquet with explicit types"
            )
        column, row, text = found
        expected = self.types[column]
        seen = _looks_like(text)
        fix = (
            f"--dtype {column}={seen} on the command line, dtypes={{{column!r}: {seen!r}}} "
            "in Python"
        )
        where = f"cannot read CSV file {str(self.path)!r}: column {column!r}"
        value = f"{text[:40]!r}" + ("..." if len(text) > 40 else "")
        how = self.origin.get(column)
        if how == "contract":
            message = (
                f"{where} is {expected} in {self.declared_in}, but data row {row} holds "
                f"{seen} {value}. Fix the file or {self.declared_in}, or read the column as "
                f"{seen} ({fix}) and let the check against {self.declared_in} report it"
            )
        elif how == "given":
            message = (
                f"{where} was given as {expected}, but data row {row} holds {seen} {value}; "
                f"give the type its values have: {fix}"
            )
        else:
            message = (
                f"{where} changed type at data row {row}: {expected} before (inferred from "
                f"the file's first {_block()}), {seen} there ({value}). Give the "
                f"column's type: {fix}"
            )
        return InvalidInput(message, column=column, row=row, expected=str(expected), found=seen)

    def _locate(self, message: str, start: int) -> tuple[str, int, str] | None:
        """(column, 1-based data row, text) of the first value at or after data row ``start``
        (0-based) that does not convert: the file is read again as text, only after a failure."""
        import pyarrow as pa
        import pyarrow.csv as pcsv

        typed = [n for n, t in self.types.items() if not _is_text(t)]
        hint = _ARROW_ERROR.search(message)
        try:
            names = pcsv.open_csv(  # the header, from one small block read without types
                self.path, read_options=pcsv.ReadOptions(block_size=1 << 16),
                parse_options=self.parse,
            ).schema.names  # fmt: skip
            as_text = pcsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=True
            )
            reader = pcsv.open_csv(
                self.path,
                read_options=pcsv.ReadOptions(block_size=CSV_BLOCK),
                parse_options=self.parse,
                convert_options=as_text,
            )
            seen = 0
            for batch in reader:
                if seen + batch.num_rows > start:
                    skip = max(0, start - seen)
                    best: tuple[int, str, str] | None = None
                    if hint and int(hint.group(1)) < len(names):
                        column = names[int(hint.group(1))]
                        col = batch.column(column).slice(skip)
                        at = _index_of(col, hint.group(2))
                        if at is not None:
                            best = (at, column, hint.group(2))
                    if best is None:
                        for column in typed:
                            col = batch.column(column).slice(skip)
                            at = _first_bad(col, self.types[column])
                            if at is not None and (best is None or at < best[0]):
                                best = (at, column, str(col[at].as_py()))
                    if best is not None:
                        return best[1], seen + skip + best[0] + 1, best[2]
                seen += batch.num_rows
        except (pa.ArrowInvalid, OSError):
            return None
        return None


def _block() -> str:
    return f"{CSV_BLOCK >> 20} MB" if CSV_BLOCK >= 1 << 20 else f"{CSV_BLOCK >> 10} KB"


def _is_text(t: Any) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_string(t) or pa.types.is_large_string(t))


def _index_of(col: Any, text: str) -> int | None:
    import pyarrow.compute as pc

    at = pc.index(col, text).as_py()
    return None if at is None or at < 0 else int(at)


def _first_bad(col: Any, t: Any) -> int | None:
    """The first index whose text does not cast to ``t`` (bisecting on prefixes: O(log n)
    vectorised casts), or None."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def fits(n: int) -> bool:
        try:
            pc.cast(col.slice(0, n), t)
            return True
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return False

    if fits(len(col)):
        return None
    lo, hi = 0, len(col)  # fits(lo), not fits(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid
    return lo


def _looks_like(text: str) -> str:
    """The narrowest of int64, float64, bool, timestamp[s], string that reads ``text``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if text.strip().lower() in ("true", "false"):
        return "bool"
    for name, t in (("int64", pa.int64()), ("float64", pa.float64()),
                    ("timestamp[s]", pa.timestamp("s"))):  # fmt: skip
        try:
            pc.cast(pa.array([text]), t)
            return name
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    return "string"
