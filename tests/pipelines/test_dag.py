"""Building the graph from the calls in a pipeline function (no steps run)."""

from __future__ import annotations

from typing import Any

import pytest

import relayml as relay
from relayml.domain.pipelines import StepSpec
from relayml.errors import InvalidInput


@relay.step
def ingest(source: str) -> list[int]:
    return [1, 2, 3]


@relay.step(retries=2, timeout="10m")
def clean(raw: list[int]) -> list[int]:
    return [x for x in raw if x > 1]


@relay.step
def features(data: list[int], window: int = 7) -> dict[str, Any]:
    return {"n": len(data), "window": window}


@relay.step
def join(left: list[int], right: list[int]) -> list[int]:
    return left + right


@relay.pipeline(schedule="0 3 * * *")
def nightly(source: str = "raw.csv", window: int = 7) -> Any:
    return features(clean(ingest(source)), window=window)


def test_graph_follows_the_calls() -> None:
    graph = nightly.build({"window": 14})
    assert graph.specs() == [
        StepSpec("ingest"),
        StepSpec("clean", ("ingest",)),
        StepSpec("features", ("clean",)),
    ]
    assert graph.node("ingest").args == {"source": "raw.csv"}
    assert graph.node("features").args["window"] == 14  # defaults bound, params applied
    assert graph.node("clean").step.retries == 2 and graph.node("clean").step.timeout == 600


def test_a_step_called_twice_gets_numbered_and_fan_in_has_two_parents() -> None:
    @relay.pipeline
    def twice() -> None:
        a = ingest("a")
        b = ingest("b")
        join(a, b)

    assert twice.build().specs() == [
        StepSpec("ingest"),
        StepSpec("ingest_2"),
        StepSpec("join", ("ingest", "ingest_2")),
    ]


def test_outside_a_pipeline_a_step_is_the_plain_function() -> None:
    assert clean([0, 1, 5]) == [5]
    assert features([1, 2]) == {"n": 2, "window": 7}


def test_bad_arguments_are_refused_with_guidance() -> None:
    @relay.pipeline
    def objects() -> None:
        features(clean(ingest("x")), window=object())  # type: ignore[arg-type]

    with pytest.raises(InvalidInput, match="argument 'window' of step 'features' is a object"):
        objects.build()

    @relay.pipeline
    def peeks() -> None:
        rows = ingest("x")
        features(rows.copy())

    with pytest.raises(InvalidInput, match="only when the steps run"):
        peeks.build()

    @relay.pipeline
    def wrong() -> None:
        clean()  # type: ignore[call-arg]

    with pytest.raises(InvalidInput, match="wrong arguments"):
        wrong.build()


def test_parameters() -> None:
    @relay.pipeline
    def needs(source: str) -> None:
        ingest(source)

    with pytest.raises(InvalidInput, match="needs the parameter 'source'"):
        needs.build()
    with pytest.raises(InvalidInput, match="no parameter"):
        needs.build({"source": "x", "typo": 1})
    with pytest.raises(InvalidInput, match="every parameter needs a default"):
        relay.pipeline(schedule="0 * * * *")(needs.fn)
    with pytest.raises(InvalidInput, match="cron"):
        relay.pipeline(schedule="at noon")(nightly.fn)

    @relay.pipeline
    def empty() -> None:
        pass

    with pytest.raises(InvalidInput, match=r"calls no @relay\.step"):
        empty.build()


def test_on_publish_names_datasets_and_needs_defaults() -> None:
    def retrain(dataset: str = "loans") -> None:
        ingest(dataset)

    assert relay.pipeline(on_publish="loans")(retrain).on_publish == ["loans"]
    watched = relay.pipeline(on_publish=["loans", "rates", "loans"])(retrain)
    assert watched.on_publish == ["loans", "rates"]
    bad_values: list[Any] = ["loans@3", "no spaces", ["ok", 3], 7, [f"d{i}" for i in range(21)]]
    for bad in bad_values:
        with pytest.raises(InvalidInput, match=r"on_publish|dataset"):
            relay.pipeline(on_publish=bad)(retrain)

    def needs_input(dataset: str) -> None:
        ingest(dataset)

    with pytest.raises(InvalidInput, match="when data is published, so every parameter"):
        relay.pipeline(on_publish="loans")(needs_input)
