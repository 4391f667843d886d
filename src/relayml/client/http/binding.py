"""An area's operations over REST, from a table of routes: no operation is written out again.

Each area's http module is a table, operation name -> `Route` (`client/http/<area>.py`). `bind`
makes the area's methods from it: a call's arguments are bound to the operation's own signature
(the service method's, `client/ops.py`), the path's `{placeholders}` are filled from them (each
checked as the service checks it and escaped, so a malformed id cannot reach another route), the
other arguments go as the query (GET, DELETE) or as the JSON body, encoded by one rule (times as
ISO 8601, enums as their value, value objects as their wire model, non-finite floats as "NaN" /
"Infinity"), and the answer is decoded by the operation's return type with the wire model that
declares it (`relayml.wire`, the server's own `response_model`s). A route changes any of these
steps where its endpoint differs: `body=`, `query=`, `out=`, or `send=` for a whole call (files).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import importlib
import pkgutil
import re
import types
import typing
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import PurePath
from typing import Any

from relayml.client.http.transport import HttpTransport, seg
from relayml.client.http.urls import API
from relayml.client.ops import Op, operations
from relayml.domain.deployments import check_time
from relayml.domain.identity import check_name
from relayml.domain.numbers import encode_float
from relayml.domain.text import check_text
from relayml.domain.tracking import check_run_id
from relayml.errors import InvalidInput

Args = dict[str, Any]
"""A call's arguments by parameter name, defaults filled in."""

_PLACEHOLDER = re.compile(r"\{(\w+)(?::(\w+))?\}")

# how a path segment is checked when its placeholder names no kind
DEFAULT_CHECKS: dict[str, Callable[[str], str]] = {
    "project": lambda v: check_name("project", v),
    "run_id": check_run_id,
}


@dataclasses.dataclass(frozen=True)
class Route:
    """Where an operation goes: `method` and `path` under /api/v1, whose `{arg}` placeholders
    are the operation's arguments (`{name:monitor}`: checked as a monitor's name; `{project}` and
    `{run_id}` are always checked; `checks` gives a check for any argument: a path segment's
    before it is escaped, any other's first, before anything is sent, even by `send`;
    `segments` writes one into the path itself, checked and escaped, where it is not one plain
    segment: a ref as `name/versions/3`, a key that may hold '/'). The remaining arguments go
    as the query for GET and DELETE and as the JSON body otherwise, unless `query` names those
    sent as the query (or builds the query from the arguments: then the rest go in no body
    unless `body` says so), `body` builds the body from the arguments (None: no body), `out`
    decodes the answer, or `send` makes the whole call. A list in the query goes as the
    parameter repeated."""

    method: str
    path: str
    query: tuple[str, ...] | Callable[[Args], Mapping[str, Any]] | None = None
    body: Callable[[Args], Any] | None = None
    out: Callable[[Any], Any] | None = None
    send: Callable[[HttpTransport, Args], Any] | None = None
    checks: Mapping[str, Callable[[str], Any]] = dataclasses.field(default_factory=dict)
    segments: Mapping[str, Callable[[Any], str]] = dataclasses.field(default_factory=dict)


def get(path: str, **kw: Any) -> Route:
    return Route("GET", path, **kw)


def post(path: str, **kw: Any) -> Route:
    return Route("POST", path, **kw)


def patch(path: str, **kw: Any) -> Route:
    return Route("PATCH", path, **kw)


def put(path: str, **kw: Any) -> Route:
    return Route("PUT", path, **kw)


def delete(path: str, **kw: Any) -> Route:
    return Route("DELETE", path, **kw)


def no_body(args: Args) -> None:
    return None


def checked_as(
    check: Callable[[str, Any], object], *names: str, optional: bool = False
) -> dict[str, Callable[[Any], object]]:
    """`checks=` for arguments each checked as `check(name, value)` (a service check that
    names what it refuses, e.g. `check_time`); `optional`: None (not given) passes."""

    def one(name: str) -> Callable[[Any], object]:
        return lambda v: None if optional and v is None else check(name, v)

    return {n: one(n) for n in names}


def optional_times(*names: str) -> dict[str, Callable[[Any], object]]:
    """`checks=` for optional times (`since`, `until`): aware datetimes or None, refused as the
    service refuses them (`check_time`)."""
    return checked_as(check_time, *names, optional=True)


class HttpArea:
    """An area's operations bound to one transport (see `bind`)."""

    def __init__(self, area: str, methods: dict[str, Any]) -> None:
        self._area = area
        self.__dict__.update(methods)

    def __repr__(self) -> str:
        return f"<http {self._area}>"


def bind(api: type[Any], routes: Mapping[str, Route], transport: HttpTransport) -> Any:
    """`api`'s operations over `transport`, each by its route. Raises TypeError when an
    operation has no route or a route no operation, or a path names an unknown argument."""
    ops = operations(api)
    if set(ops) != set(routes):
        missing, extra = sorted(set(ops) - set(routes)), sorted(set(routes) - set(ops))
        raise TypeError(f"{api.__name__}: no route for {missing}; routes without operation {extra}")
    return HttpArea(api.__name__, {n: _method(ops[n], routes[n], transport) for n in ops})


def _method(op: Op, route: Route, transport: HttpTransport) -> Callable[..., Any]:
    placeholders = _PLACEHOLDER.findall(route.path)
    named = [p for p, _ in placeholders] + list(route.checks)
    unknown = [p for p in named if p not in op.signature.parameters]
    if unknown:
        raise TypeError(f"{route.path}: {op.name} has no parameter {unknown}")
    in_path = {p for p, _ in placeholders}
    checked = {k: c for k, c in route.checks.items() if k not in in_path}

    @functools.wraps(op.fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        a = op.arguments(args, kwargs)
        for name, check in checked.items():
            check(a[name])
        if route.send is not None:
            return route.send(transport, a)
        path = API + _PLACEHOLDER.sub(lambda m: _segment(route, a, m[1], m[2]), route.path)
        rest = {k: v for k, v in a.items() if k not in in_path}
        if callable(route.query):
            query = route.query(a)
        else:
            as_query = (
                route.query
                if route.query is not None
                else tuple(rest)
                if route.method in ("GET", "DELETE")
                else ()
            )
            query = {k: rest[k] for k in as_query}
        params = {k: _query(k, v) for k, v in query.items()}
        if route.body is not None:
            body = encode(route.body(a))
        elif route.method in ("GET", "DELETE") or callable(route.query):
            body = None
        else:
            body = {k: encode(v) for k, v in rest.items() if k not in query}
        found = transport.call(route.method, path, json=body, params=params or None)
        return route.out(found) if route.out is not None else decode(op.hints["return"], found)

    call.__signature__ = op.signature  # type: ignore[attr-defined]
    return call


def _segment(route: Route, a: Args, name: str, kind: str | None) -> str:
    value = a[name]
    if name in route.segments:
        return route.segments[name](value)
    check = route.checks.get(name) or (
        (lambda v: check_name(kind, v)) if kind else DEFAULT_CHECKS.get(name)
    )
    if check is not None:
        check(value)
    if not isinstance(value, str) or value in ("", ".", ".."):
        raise InvalidInput(f"{name} must be a name or an id, not {value!r:.60}")
    return seg(value)


def _query(name: str, value: Any) -> Any:
    value = encode(value)
    if isinstance(value, list) and not any(isinstance(v, dict | list) for v in value):
        return value  # the parameter repeated, once per item
    if isinstance(value, dict | list):
        raise TypeError(f"{name}: a query parameter cannot carry {type(value).__name__}")
    return value


def encode(value: Any) -> Any:
    """A value as JSON carries it, by the one rule (see the module's docstring)."""
    if isinstance(value, enum.Enum):  # before str and int: a StrEnum goes as its value
        return value.value
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return encode_float(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return repr(value.total_seconds())
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, Mapping):
        return {str(encode(k)): encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [encode(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        model = wire_models().get(type(value))
        if model is not None:
            return model.from_domain(value).model_dump(mode="json")
        return encode(dataclasses.asdict(value))
    raise InvalidInput(
        f"a {type(value).__module__}.{type(value).__qualname__} cannot be sent to the server: "
        "pass text, a number, a time, a list or a mapping of those"
    )


def decode(annotation: Any, found: Any) -> Any:
    """`found` (an answer's JSON) as `annotation`: a domain type by the wire model whose
    `to_domain` returns it, lists and optionals element-wise, everything else as it came."""
    if found is None:
        return None
    origin = typing.get_origin(annotation)
    if origin in (types.UnionType, typing.Union):
        options = [t for t in typing.get_args(annotation) if t is not type(None)]
        return decode(options[0], found) if len(options) == 1 else found
    if origin is list:
        (item,) = typing.get_args(annotation)
        return [decode(item, x) for x in found]
    if isinstance(annotation, type) and annotation in wire_models():
        return wire_models()[annotation].model_validate(found).to_domain()
    return found


@functools.cache
def wire_models() -> dict[type, Any]:
    """domain type -> the one wire model whose `to_domain` returns it (a type two models
    return is left out: its routes name their `out`)."""
    import relayml.wire as wire

    found: dict[type, list[Any]] = {}
    for info in pkgutil.iter_modules(wire.__path__):
        module = importlib.import_module(f"relayml.wire.{info.name}")
        for model in vars(module).values():
            if not (isinstance(model, type) and model.__module__ == module.__name__):
                continue
            to_domain = vars(model).get("to_domain")
            if to_domain is None or "from_domain" not in vars(model):
                continue
            returns = typing.get_type_hints(to_domain).get("return")
            if isinstance(returns, type):
                found.setdefault(returns, []).append(model)
    return {t: models[0] for t, models in found.items() if len(models) == 1}


def text_checked(body: Any) -> Any:
    """`body` encoded, every string in it (keys too) checked as the services check text: a
    lone surrogate (which JSON cannot carry) or a NUL is refused here, with the service's own
    message, before anything is sent."""
    found = encode(body)
    _check_text(found)
    return found


def _check_text(value: Any) -> None:
    if isinstance(value, str):
        check_text("text", value, len(value))
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_text(k)
            _check_text(v)
    elif isinstance(value, list):
        for v in value:
            _check_text(v)
