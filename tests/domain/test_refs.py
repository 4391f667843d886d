"""One reference syntax: ``name``, ``name@3``, ``name@alias``, ``name@latest``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import relayml as relay
from relayml.domain.refs import MAX_VERSION, Ref, parse_ref
from relayml.errors import InvalidInput


@pytest.mark.parametrize(
    ("text", "version", "ref"),
    [
        ("loans", None, Ref("loans")),
        ("loans@latest", None, Ref("loans")),
        ("loans@3", None, Ref("loans", 3)),
        ("loans", 3, Ref("loans", 3)),
        ("loans", "3", Ref("loans", 3)),
        ("loans", "latest", Ref("loans")),
        (f"loans@{MAX_VERSION}", None, Ref("loans", MAX_VERSION)),
    ],
)
def test_dataset_refs(text: str, version: int | str | None, ref: Ref) -> None:
    assert parse_ref(text, version) == ref


def test_str_and_url_tail() -> None:
    assert str(parse_ref("loans")) == "loans@latest"
    assert str(parse_ref("loans@7")) == "loans@7" and parse_ref("loans@7").tail == "7"
    champion = parse_ref("churn@champion", kind="model", aliases=True)
    assert champion == Ref("churn", alias="champion") and not champion.latest
    assert str(champion) == "churn@champion" and parse_ref("churn", kind="model").latest


@pytest.mark.parametrize(
    ("text", "version", "message"),
    [
        ("", None, "invalid dataset reference '': write 'name', 'name@version'"),
        (None, None, "invalid dataset reference None"),
        ("bad name@1", None, "invalid dataset name 'bad name'"),
        ("@3", None, "invalid dataset name ''"),
        ("loans@", None, "dataset reference 'loans@' has nothing after '@': write e.g. loans@3"),
        ("loans@0", None, "invalid dataset version 0 in 'loans@0': versions count from 1"),
        ("loans", 0, "invalid dataset version 0 in 'loans': versions count from 1"),
        ("loans", -2, "invalid dataset version -2 in 'loans': versions count from 1"),
        ("loans@-1", None, "invalid dataset version '-1' in 'loans@-1': use a positive integer"),
        ("loans@2.5", None, "invalid dataset version '2.5'"),
        ("loans@1@2", None, "invalid dataset version '1@2'"),
        ("loans@٣", None, "invalid dataset version '٣'"),
        (f"loans@{2**63}", None, f"invalid dataset version {2**63} in 'loans@{2**63}': versions "),
        (f"loans@{MAX_VERSION + 1}", None, "invalid dataset version 2147483648 in "),
        ("loans@two", None, "invalid dataset version 'two' in 'loans@two': datasets have no alias"),
        ("loans@3", 3, "dataset reference 'loans@3' names a version; do not pass version= too"),
        ("loans", True, "invalid dataset version True"),
    ],
)
def test_refusals_say_what_is_wrong(text: object, version: object, message: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_ref(text, version)  # type: ignore[arg-type]
    assert str(exc.value).startswith(message), str(exc.value)


def test_model_refs_take_aliases_but_not_empty_ones() -> None:
    with pytest.raises(InvalidInput, match="invalid model version or alias '-x'"):
        parse_ref("churn@-x", kind="model", aliases=True)
    with pytest.raises(InvalidInput, match="has nothing after '@'"):
        parse_ref("churn@", kind="model", aliases=True)


@pytest.fixture
def published(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for var in ("RELAY_DATABASE_URL", "RELAY_ARTIFACT_URI", "RELAY_SERVER_URL", "RELAY_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("RELAY_HOME", str(tmp_path / ".relay"))
    monkeypatch.chdir(tmp_path)
    from relayml.sdk import session

    session.reset()
    relay.init(project="refs")
    relay.datasets.publish("loans", pd.DataFrame({"a": [1, 2]}))
    yield
    session.reset()


@pytest.mark.usefixtures("published")
@pytest.mark.parametrize("ref", [f"loans@{2**63}", f"loans@{2**31}", "loans@champion"])
def test_out_of_range_versions_are_refused_before_the_database(ref: str) -> None:
    """2^63 overflowed SQLite's integer (an internal error); 2^31 PostgreSQL's column."""
    with pytest.raises(relay.InvalidInput, match="invalid dataset version"):
        relay.datasets.get(ref)
    with pytest.raises(relay.InvalidInput, match="invalid dataset version"):
        relay.datasets.lineage(ref)
    assert relay.datasets.get("loans@1").version == 1
