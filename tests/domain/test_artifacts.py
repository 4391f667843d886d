"""Artifact paths: a logical path never leaves the run's root, whichever layer checks it."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relayml.domain.artifacts import check_logical_path
from relayml.errors import InvalidInput


@pytest.mark.parametrize(
    "bad",
    ["", "/abs", "../up", "a/../../b", "a/./b", "a//b", "x\x00y", "c:\\win", "..", "a/.."],
)
def test_bad_logical_paths(bad: str) -> None:
    with pytest.raises(InvalidInput):
        check_logical_path(bad)


@given(st.text(alphabet=st.sampled_from(list("ab./\\\x00:")), min_size=1, max_size=12))
def test_accepted_paths_stay_inside_root(path: str) -> None:
    try:
        norm = check_logical_path(path)
    except InvalidInput:
        return
    root = Path("/root-dir")
    resolved = (root / norm).resolve()
    assert resolved.is_relative_to(root)
    assert "\x00" not in norm and not norm.startswith("/")
