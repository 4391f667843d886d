"""Contracts from YAML files and dicts, with errors that point at the offending key.

    load_contract("contracts/loans.yaml")        # a path (str or Path)
    load_contract({"columns": {...}})            # the same structure as a dict
    load_contract(contract)                      # a Contract is returned as is

An error names the file, the line and the key path (`loans.yaml:7: columns.amount.min: ...`).
YAML never runs code by itself: a custom check names a `module:function`, which is imported only
when the caller passes `trust_code=True`.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Collection, Mapping
from datetime import date
from pathlib import Path
from typing import Any, NoReturn, cast

from relayml.contracts.dtypes import TYPE_NAMES, is_known_type
from relayml.contracts.spec import (
    SEVERITIES,
    Column,
    Contract,
    CustomCheck,
    Freshness,
    RowCount,
    Severity,
    TableCheck,
    UniqueKey,
)
from relayml.domain.durations import parse_duration
from relayml.domain.safe_yaml import load_yaml
from relayml.errors import InvalidInput, NotFound

TOP_KEYS = ("name", "description", "columns", "checks")
COLUMN_KEYS = (
    "description", "type", "nullable", "unique", "min", "max", "range", "allowed", "regex",
    "custom", "severity",
)  # fmt: skip
TABLE_KINDS = ("row_count", "freshness", "unique", "custom")
Key = tuple[str | int, ...]


def _is_iso_time(text: str) -> bool:
    from datetime import datetime

    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def load_contract(source: Any, *, trust_code: bool = False) -> Contract:
    """A Contract from a path (str or Path) to a YAML file, YAML text (a str with a newline,
    which no path has), a dict, or a Contract."""
    if isinstance(source, Contract):
        return source
    if isinstance(source, Mapping):
        return _Parser(None, {}, trust_code).contract(source)
    if isinstance(source, str) and "\n" in source:
        return contract_from_yaml(source, trust_code=trust_code)
    if isinstance(source, str | Path):
        return _load_file(Path(source), trust_code)
    raise InvalidInput(
        f"cannot read a contract from a {type(source).__name__}; pass a YAML file path, "
        "YAML text, a dict or a Contract"
    )


def contract_from_yaml(
    text: str,
    *,
    trust_code: bool = False,
    trusted: Collection[str] = (),
    untrusted_hint: str = "",
    origin: str = "<yaml>",
) -> Contract:
    """A Contract from YAML text (the CLI and the stored copy use this). Custom checks are
    imported with `trust_code`, or when their `module:function` is in `trusted` (a project's
    trusted checks, on the server); otherwise they are refused, with `untrusted_hint` added to
    the message."""
    data, node = load_yaml(text, origin)
    lines = _lines(node)
    if not isinstance(data, Mapping):
        raise InvalidInput(f"{origin}: a contract is a mapping with a 'columns' key, got {data!r}")
    parser = _Parser(origin, lines, trust_code)
    parser.trusted, parser.untrusted_hint = frozenset(trusted), untrusted_hint
    return parser.contract(data)


def _load_file(path: Path, trust_code: bool) -> Contract:
    try:
        found = path.is_file()
    except OSError as exc:  # e.g. a name longer than the file system allows
        raise InvalidInput(
            f"cannot read a contract file named {str(path)[:80]!r}...: {exc.strerror}; pass the "
            "path of a YAML file, or the YAML text itself (with its newlines)"
        ) from None
    if not found:
        raise NotFound(f"contract file {str(path)!r} does not exist; pass the path of a YAML file")
    return contract_from_yaml(path.read_text(encoding="utf-8"), trust_code=trust_code,
                              origin=str(path))  # fmt: skip


def _lines(node: Any, key: Key = (), out: dict[Key, int] | None = None) -> dict[Key, int]:
    """The line of every key path in a composed YAML document."""
    import yaml

    out = {} if out is None else out
    if node is None:
        return out
    out.setdefault(key, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            sub = (*key, str(k.value))
            out[sub] = k.start_mark.line + 1
            _lines(v, sub, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _lines(item, (*key, i), out)
    return out


def _show(key: Key) -> str:
    text = ""
    for part in key:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "<top>"


class _Parser:
    def __init__(self, origin: str | None, lines: dict[Key, int], trust_code: bool) -> None:
        self.origin, self.lines, self.trust_code = origin, lines, trust_code
        self.trusted: frozenset[str] = frozenset()
        self.untrusted_hint = ""

    def fail(self, key: Key, problem: str) -> NoReturn:
        where = ""
        if self.origin:
            line = self.lines.get(key)
            where = f"{self.origin}:{line}: " if line else f"{self.origin}: "
        raise InvalidInput(f"{where}{_show(key)}: {problem}", key=_show(key))

    def mapping(self, value: Any, key: Key, known: tuple[str, ...]) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            self.fail(key, f"expected a mapping, got {value!r}")
        for k in value:
            if k not in known:
                self.fail((*key, str(k)), f"unknown key {k!r}; known keys: {', '.join(known)}")
        return value

    def contract(self, data: Mapping[str, Any]) -> Contract:
        data = self.mapping(data, (), TOP_KEYS)
        raw_cols = data.get("columns") or {}
        if not isinstance(raw_cols, Mapping):
            self.fail(("columns",), "expected a mapping of column name to its checks")
        columns = [self.column(str(n), spec) for n, spec in raw_cols.items()]
        raw_checks = data.get("checks") or []
        if not isinstance(raw_checks, list):
            self.fail(("checks",), "expected a list of table checks")
        checks = [self.table_check(item, ("checks", i)) for i, item in enumerate(raw_checks)]
        name, description = data.get("name"), data.get("description")
        return Contract(columns=tuple(columns), checks=tuple(checks),
                        name=None if name is None else str(name),
                        description=None if description is None else str(description))  # fmt: skip

    def severity(self, value: Any, key: Key) -> Severity:
        if value not in SEVERITIES:
            self.fail(key, f"severity must be 'error' or 'warn', got {value!r}")
        return cast(Severity, value)

    def checked(self, spec: Mapping[str, Any], name: str, key: Key,
                severities: dict[str, Severity], kind: str) -> Any:  # fmt: skip
        """A check value written plainly (`unique: true`) or as `{value: ..., severity: warn}`."""
        value = spec[name]
        if isinstance(value, Mapping) and "value" in value:
            self.mapping(value, (*key, name), ("value", "severity"))
            if "severity" in value:
                severities[kind] = self.severity(value["severity"], (*key, name, "severity"))
            return value["value"]
        return value

    def column(self, name: str, spec: Any) -> Column:
        key: Key = ("columns", name)
        spec = self.mapping({} if spec is None else spec, key, COLUMN_KEYS)
        sev: dict[str, Severity] = {}
        kw: dict[str, Any] = {"name": name}
        if "severity" in spec:
            kw["severity"] = self.severity(spec["severity"], (*key, "severity"))
        if "description" in spec:
            kw["description"] = str(spec["description"])
        if "type" in spec:
            t = self.checked(spec, "type", key, sev, "type")
            if not isinstance(t, str) or not is_known_type(t):
                self.fail((*key, "type"), f"unknown type {t!r}; use one of {TYPE_NAMES}")
            kw["type"] = t
        for flag, kind in (("nullable", "not_null"), ("unique", "unique")):
            if flag in spec:
                v = self.checked(spec, flag, key, sev, kind)
                if not isinstance(v, bool):
                    self.fail((*key, flag), f"expected true or false, got {v!r}")
                kw[flag] = v
        if "range" in spec:
            if "min" in spec or "max" in spec:
                self.fail((*key, "range"), "write either range: {min, max} or min/max, not both")
            rng = self.mapping(spec["range"], (*key, "range"), ("min", "max", "severity"))
            if "severity" in rng:
                sev["range"] = self.severity(rng["severity"], (*key, "range", "severity"))
            bounds, bkey = rng, (*key, "range")
        else:
            bounds, bkey = spec, key
        for bound in ("min", "max"):
            if bound in bounds:
                v = bounds[bound]
                if isinstance(v, date):  # YAML reads an unquoted 2026-01-31 as a date
                    v = v.isoformat()
                if (
                    isinstance(v, bool)
                    or not isinstance(v, int | float | str)
                    or (isinstance(v, str) and not _is_iso_time(v))
                ):
                    self.fail((*bkey, bound), f"expected a number (or an ISO date/time such as "
                              f"2026-01-31), got {v!r}")  # fmt: skip
                kw[bound] = v
        if "allowed" in spec:
            v = self.checked(spec, "allowed", key, sev, "allowed")
            if not isinstance(v, list) or not v:
                self.fail((*key, "allowed"), f"expected a non-empty list of values, got {v!r}")
            kw["allowed"] = tuple(v)
        if "regex" in spec:
            v = self.checked(spec, "regex", key, sev, "regex")
            if not isinstance(v, str):
                self.fail((*key, "regex"), f"expected a regular expression string, got {v!r}")
            try:
                re.compile(v)
            except re.error as exc:
                self.fail((*key, "regex"), f"{v!r} is not a valid regular expression: {exc}")
            kw["regex"] = v
        if "custom" in spec:
            items = spec["custom"]
            if not isinstance(items, list):
                self.fail((*key, "custom"), "expected a list of {name, function, severity}")
            kw["custom"] = tuple(
                self.custom(item, (*key, "custom", i), column=name) for i, item in enumerate(items)
            )
        return Column(severities=sev, **kw)

    def custom(self, item: Any, key: Key, column: str | None) -> CustomCheck:
        item = self.mapping(item, key, ("name", "function", "severity"))
        if "function" not in item or not isinstance(item["function"], str):
            self.fail(key, "a custom check needs function: 'package.module:function'")
        ref = item["function"]
        name = str(item.get("name") or ref.rpartition(":")[2])
        severity = self.severity(item.get("severity", "error"), (*key, "severity"))
        fn = self.resolve(ref, (*key, "function"))
        return CustomCheck(name=name, fn=fn, ref=ref, column=column, severity=severity)

    def resolve(self, ref: str, key: Key) -> Callable[[Any], Any]:
        if not (self.trust_code or ref in self.trusted):
            hint = self.untrusted_hint or ("pass trust_code=True (CLI: --trust-code)")
            self.fail(key, f"the contract runs Python code {ref!r}; Relay imports code named in "
                      f"a contract only when it is trusted: {hint}")  # fmt: skip
        module_name, _, attr = ref.partition(":")
        if not module_name or not attr:
            self.fail(key, f"{ref!r} is not 'package.module:function'")
        try:
            target: Any = importlib.import_module(module_name)
            for part in attr.split("."):
                target = getattr(target, part)
        except (ImportError, AttributeError) as exc:
            self.fail(key, f"cannot import {ref!r}: {exc}")
        if not callable(target):
            self.fail(key, f"{ref!r} is not callable")
        return cast(Callable[[Any], Any], target)

    def table_check(self, item: Any, key: Key) -> TableCheck:
        item = self.mapping(item, key, (*TABLE_KINDS, "severity", "name"))
        kinds = [k for k in TABLE_KINDS if k in item]
        if len(kinds) != 1:
            self.fail(key, f"a table check has exactly one of {', '.join(TABLE_KINDS)}")
        kind = kinds[0]
        severity = self.severity(item.get("severity", "error"), (*key, "severity"))
        body, bkey = item[kind], (*key, kind)
        if kind == "row_count":
            body = self.mapping(body, bkey, ("min", "max"))
            for bound in ("min", "max"):
                v = body.get(bound)
                if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
                    self.fail((*bkey, bound), f"expected a row count (integer >= 0), got {v!r}")
            return RowCount(min=body.get("min"), max=body.get("max"), severity=severity)
        if kind == "freshness":
            body = self.mapping(body, bkey, ("column", "max_age"))
            if not isinstance(body.get("column"), str):
                self.fail((*bkey, "column"), "name the timestamp column: column: updated_at")
            try:
                parse_duration(body.get("max_age", ""))
            except InvalidInput as exc:
                self.fail((*bkey, "max_age"), str(exc))
            return Freshness(body["column"], str(body["max_age"]), severity)
        if kind == "unique":
            if not (isinstance(body, list) and body and all(isinstance(c, str) for c in body)):
                self.fail(bkey, f"expected a list of column names, got {body!r}")
            return UniqueKey(tuple(body), severity)
        if not isinstance(body, str):
            self.fail(bkey, f"expected 'package.module:function', got {body!r}")
        fn = self.resolve(body, bkey)
        name = str(item.get("name") or body.rpartition(":")[2])
        return CustomCheck(name=name, fn=fn, ref=body, severity=severity)
