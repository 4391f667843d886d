"""Contract YAML is parsed with limits: an alias bomb, deep nesting or a huge document is a clear
InvalidInput at once, over REST as through the SDK (the bomb used to cost 31 s and 2.2 GB)."""

from __future__ import annotations

import pytest

from relayml.contracts import contract_from_yaml
from relayml.errors import InvalidInput


def alias_bomb(levels: int, width: int = 10) -> str:
    """A contract whose `allowed` list expands to width**levels values through aliases."""
    lines = ["columns:", "  c0: {allowed: &l0 [" + ", ".join(["v"] * width) + "]}"]
    for i in range(1, levels + 1):
        lines.append(f"  c{i}: {{allowed: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]}")
    return "\n".join(lines)


def test_an_alias_bomb_is_refused() -> None:
    text = alias_bomb(6)  # 10**6 values from a few hundred bytes
    assert len(text) < 600
    with pytest.raises(InvalidInput, match="expands to more than 100,000 values"):
        contract_from_yaml(text, origin="bomb.yaml")


def test_deep_nesting_is_refused() -> None:
    deep = "columns:\n  a:\n    allowed: " + "[" * 1000 + "]" * 1000
    with pytest.raises(InvalidInput, match="nests deeper than 64 levels"):
        contract_from_yaml(deep, origin="deep.yaml")


def test_a_huge_document_is_refused() -> None:
    with pytest.raises(InvalidInput, match="longer than 1,000,000 characters"):
        contract_from_yaml("columns: {}\n" + "#" * 1_000_001)


def test_plain_aliases_within_the_limits_still_work() -> None:
    text = "columns:\n  a: &t {type: int64, min: 0}\n  b: *t\n"
    contract = contract_from_yaml(text)
    assert [c.name for c in contract.columns] == ["a", "b"]


@pytest.mark.parametrize("char", ["\x8c", "\x00", "\x1b"])
def test_a_control_character_is_invalid_input_not_a_crash(char: str) -> None:
    """PyYAML's reader refuses non-printable characters while its loader is built; that used to
    escape as yaml.ReaderError (a 500 over REST, found by the schema fuzzer on PUT /policy)."""
    from relayml.domain.policy import parse_policy

    with pytest.raises(InvalidInput, match=r"not valid YAML: .*special characters"):
        parse_policy(f"protected: {{}}\n# {char}\n")
    with pytest.raises(InvalidInput, match="not valid YAML"):
        contract_from_yaml(f"columns: {{}}\n# {char}\n")
