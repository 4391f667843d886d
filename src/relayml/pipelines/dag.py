"""The DAG API: `@relay.step` and `@relay.pipeline`, and the graph built from the calls.

Calling steps inside a pipeline function does not run them: each call adds a node to the graph
being built and returns that node, which later calls take as an argument (an edge). The
pipeline function runs only to build the graph; the runner then executes the nodes.
"""

from __future__ import annotations

import contextvars
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, ParamSpec, TypeVar, cast, overload

from relayml.domain.durations import parse_duration
from relayml.domain.pipelines import StepSpec, check_cron, check_on_publish, check_step_name
from relayml.errors import InvalidInput

P = ParamSpec("P")
R = TypeVar("R")

_building: contextvars.ContextVar[GraphBuilder | None] = contextvars.ContextVar(
    "relay_pipeline_graph", default=None
)


class Step(Generic[P, R]):
    """A function made a pipeline step. Called inside a pipeline it adds a node to the graph;
    called anywhere else it is the plain function."""

    def __init__(
        self,
        fn: Callable[P, R],
        *,
        name: str | None = None,
        retries: int = 0,
        timeout: str | float | None = None,
        backoff: float = 1.0,
        cache: bool = True,
    ) -> None:
        if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
            raise InvalidInput(f"retries must be a count ≥ 0, got {retries!r}")
        if not isinstance(backoff, int | float) or backoff < 0:
            raise InvalidInput(f"backoff must be ≥ 0 seconds, got {backoff!r}")
        self.fn = fn
        self.name = check_step_name(name or fn.__name__)
        self.retries = retries
        self.timeout = None if timeout is None else parse_duration(timeout)
        self.backoff = float(backoff)
        self.cache = cache
        self.signature = inspect.signature(fn)
        _wraps(self, fn, self.name)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        builder = _building.get()
        if builder is None:
            result: R = self.fn(*args, **kwargs)
            return result
        # The node stands in for the output, so `features(clean(x))` type-checks in user code.
        return cast(R, builder.add(self, args, kwargs))

    def __repr__(self) -> str:
        return f"<relay step {self.name}>"


@overload
def step(fn: Callable[P, R], /) -> Step[P, R]: ...
@overload
def step(
    *,
    name: str | None = None,
    retries: int = 0,
    timeout: str | float | None = None,
    backoff: float = 1.0,
    cache: bool = True,
) -> Callable[[Callable[P, R]], Step[P, R]]: ...
def step(
    fn: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    retries: int = 0,
    timeout: str | float | None = None,
    backoff: float = 1.0,
    cache: bool = True,
) -> Step[P, R] | Callable[[Callable[P, R]], Step[P, R]]:
    """Make a function a pipeline step.

    retries: extra attempts after a failure, `backoff` seconds apart, doubling each time.
    timeout: "10m", "90s", or seconds; an attempt running longer is killed.
    cache: reuse the output of an earlier run with the same code, inputs and parameters.
    """

    def wrap(f: Callable[P, R]) -> Step[P, R]:
        return Step(f, name=name, retries=retries, timeout=timeout, backoff=backoff, cache=cache)

    return wrap(fn) if fn is not None else wrap


@dataclass(eq=False)
class Node:
    """One call of a step in a pipeline: the step, its arguments (literals or other nodes)."""

    name: str
    step: Step[Any, Any]
    args: dict[str, Any]
    upstream: tuple[str, ...]

    def __repr__(self) -> str:
        return f"<output of step {self.name}>"

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        raise InvalidInput(
            f"{attr!r} was read from the output of step {self.name!r} while the pipeline graph "
            "was being built; step outputs exist only when the steps run, so pass them "
            "whole to another step and use them there"
        )


@dataclass
class Graph:
    nodes: list[Node] = field(default_factory=list)

    def specs(self) -> list[StepSpec]:
        return [StepSpec(n.name, n.upstream) for n in self.nodes]

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise InvalidInput(f"the pipeline has no step {name!r}")


class GraphBuilder:
    def __init__(self) -> None:
        self.graph = Graph()
        self._counts: dict[str, int] = {}

    def add(self, step: Step[Any, Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Node:
        try:
            bound = step.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise InvalidInput(
                f"step {step.name!r} called with the wrong arguments: {exc}"
            ) from None
        bound.apply_defaults()
        upstream: list[str] = []
        for arg, value in bound.arguments.items():
            if isinstance(value, Node):
                if value.name not in upstream:
                    upstream.append(value.name)
                continue
            _check_literal(step.name, arg, value)
        n = self._counts.get(step.name, 0) + 1
        self._counts[step.name] = n
        node = Node(
            name=step.name if n == 1 else f"{step.name}_{n}",
            step=step,
            args=dict(bound.arguments),
            upstream=tuple(upstream),
        )
        self.graph.nodes.append(node)
        return node


def _contains_node(value: Any) -> bool:
    if isinstance(value, Node):
        return True
    if isinstance(value, list | tuple | set):
        return any(_contains_node(v) for v in value)
    if isinstance(value, dict):
        return any(_contains_node(v) for v in value.values())
    return False


def _check_literal(step: str, arg: str, value: Any) -> None:
    if _contains_node(value):
        raise InvalidInput(
            f"argument {arg!r} of step {step!r} holds a step output inside a container; "
            "pass each step output as its own argument"
        )
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"argument {arg!r} of step {step!r} is a {type(value).__name__}; arguments given "
            "in the pipeline must be JSON values (str, number, bool, None, list, dict) or "
            "outputs of other steps"
        ) from None


class Pipeline(Generic[P]):
    """A function made a pipeline: calling steps in it builds the graph."""

    def __init__(
        self,
        fn: Callable[P, Any],
        *,
        name: str | None = None,
        schedule: str | None = None,
        on_publish: str | list[str] | tuple[str, ...] | None = None,
    ) -> None:
        from relayml.domain.identity import check_name

        self.fn = fn
        self.name = check_name("pipeline", name or fn.__name__)
        self.schedule = check_cron(schedule)
        self.on_publish = check_on_publish(on_publish)
        self.signature = inspect.signature(fn)
        _wraps(self, fn, self.name)
        if self.schedule is not None or self.on_publish:
            missing = [p for p, v in self.defaults().items() if v is inspect.Parameter.empty]
            if missing:
                how = "on a schedule" if self.schedule is not None else "when data is published"
                raise InvalidInput(
                    f"pipeline {self.name!r} runs {how}, so every parameter needs a "
                    f"default; {missing} have none"
                )

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.signature.parameters.values()}

    def bind(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """The pipeline's parameters: the given ones over the defaults, all present."""
        given = dict(params or {})
        unknown = sorted(set(given) - set(self.signature.parameters))
        if unknown:
            known = ", ".join(self.signature.parameters) or "none"
            raise InvalidInput(
                f"pipeline {self.name!r} has no parameter {unknown}; its parameters: {known}"
            )
        values: dict[str, Any] = {}
        for p, default in self.defaults().items():
            if p in given:
                values[p] = given[p]
            elif default is inspect.Parameter.empty:
                raise InvalidInput(
                    f"pipeline {self.name!r} needs the parameter {p!r}; pass it as "
                    f"--param {p}=VALUE (CLI) or params={{{p!r}: ...}}"
                )
            else:
                values[p] = default
        for p, v in values.items():
            _check_literal(f"pipeline {self.name}", p, v)
        return values

    def build(self, params: dict[str, Any] | None = None) -> Graph:
        """Run the pipeline function to record which steps it calls with what."""
        values = self.bind(params)
        builder = GraphBuilder()
        token = _building.set(builder)
        try:
            self.fn(**values)  # type: ignore[call-arg]
        finally:
            _building.reset(token)
        if not builder.graph.nodes:
            raise InvalidInput(f"pipeline {self.name!r} calls no @relay.step; nothing to run")
        return builder.graph

    def run(self, **params: Any) -> Any:
        """Run the pipeline now, with the current session (see relay.pipelines.run)."""
        from relayml.pipelines import run

        return run(self, params=params)

    def __repr__(self) -> str:
        return f"<relay pipeline {self.name}>"


@overload
def pipeline(fn: Callable[P, Any], /) -> Pipeline[P]: ...
@overload
def pipeline(
    *,
    name: str | None = None,
    schedule: str | None = None,
    on_publish: str | list[str] | tuple[str, ...] | None = None,
) -> Callable[[Callable[P, Any]], Pipeline[P]]: ...
def pipeline(
    fn: Callable[P, Any] | None = None,
    /,
    *,
    name: str | None = None,
    schedule: str | None = None,
    on_publish: str | list[str] | tuple[str, ...] | None = None,
) -> Pipeline[P] | Callable[[Callable[P, Any]], Pipeline[P]]:
    """Make a function a pipeline. `schedule` is a cron expression for `relay scheduler`;
    `on_publish` a dataset name (or a list): `relay scheduler` starts one run per new usable
    version of it, and a parameter named `dataset` receives that version ("loans@7")."""

    def wrap(f: Callable[P, Any]) -> Pipeline[P]:
        return Pipeline(f, name=name, schedule=schedule, on_publish=on_publish)

    return wrap(fn) if fn is not None else wrap


def _wraps(wrapper: Any, fn: Callable[..., Any], name: str) -> None:
    """Make a Step or Pipeline look like the function it wraps (name, docs, module)."""
    wrapper.__doc__ = fn.__doc__
    wrapper.__wrapped__ = fn
    wrapper.__name__ = getattr(fn, "__name__", name)
    wrapper.__qualname__ = getattr(fn, "__qualname__", name)
    wrapper.__module__ = fn.__module__
