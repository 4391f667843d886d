"""An area's operations, declared once: by pointing at the service method that does the work.

An area's client class (`client/<area>.py`) lists its operations as `get = op(LoopService.get)`.
The service method is the one place an operation's parameters, defaults, types and docstring
are written; `op` hands the type checker that same signature without the caller (`who`), so
`backend.loops.get(project, name)` is checked against the service itself, and hands the
backends (`client.local`, `client.http`) an `Op` that knows its function and its signature.

Where a local file crosses the boundary, the operation points at the embedded backend's file
method instead (`file_op(DatasetFiles.publish)`, `client/files.py`): that method's signature
(a local path where the service takes a stream) is then the one statement of it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar, cast, get_type_hints

from relayml.domain.identity import Principal

P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S")


class Op:
    """One operation: `fn` (a service method, or a file method of the embedded backend) and
    its signature as clients call it (`self`, and the caller for a service method, dropped)."""

    def __init__(self, fn: Callable[..., Any], *, takes_caller: bool) -> None:
        self.fn = fn
        self.name: str = fn.__name__
        self.takes_caller = takes_caller
        params = list(inspect.signature(fn).parameters.values())[2 if takes_caller else 1 :]
        self.signature = inspect.signature(fn).replace(parameters=params)
        self._hints: dict[str, Any] | None = None

    @property
    def hints(self) -> dict[str, Any]:
        """The resolved annotations of `fn` (parameters and `return`)."""
        if self._hints is None:
            self._hints = get_type_hints(self.fn)
        return self._hints

    def arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """The call's arguments by name, defaults filled in; a TypeError as Python's own for a
        call that does not fit the signature."""
        bound = self.signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return dict(bound.arguments)

    def __set_name__(self, owner: type[Any], name: str) -> None:
        if name != self.name:
            raise TypeError(
                f"{owner.__name__}.{name} = op({self.fn.__qualname__}): an operation keeps "
                f"its service method's name ({self.name!r})"
            )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            f"{self.fn.__qualname__} is called on a backend (backend.<area>.{self.name})"
        )

    def __repr__(self) -> str:
        return f"<op {self.fn.__qualname__}{self.signature}>"


def op(fn: Callable[Concatenate[S, Principal, P], R]) -> Callable[Concatenate[Any, P], R]:
    """The operation a service method `m(self, who, ...)` is, as `backend.<area>.m(...)`."""
    return cast(Callable[Concatenate[Any, P], R], Op(fn, takes_caller=True))


def file_op(fn: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[Any, P], R]:
    """The operation an embedded backend's file method `m(self, ...)` is (`client/files.py`)."""
    return cast(Callable[Concatenate[Any, P], R], Op(fn, takes_caller=False))


def operations(api: type[Any]) -> dict[str, Op]:
    """The operations an area's client class declares, in declaration order."""
    return {n: v for n, v in vars(api).items() if isinstance(v, Op)}
