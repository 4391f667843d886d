"""YAML from users, parsed with limits: size, nesting depth and expanded size (aliases).

PyYAML's safe loader runs no code, but a few hundred bytes of anchors and aliases expand into
billions of nodes for whoever walks the result ("billion laughs"), and deep nesting overflows
the recursive composer. Every piece of user YAML Relay reads goes through `load_yaml`.
"""

from __future__ import annotations

from typing import Any

import yaml

from relayml.errors import InvalidInput

MAX_CHARS = 1_000_000
MAX_DEPTH = 64
MAX_NODES = 100_000
"""Nodes of the document with every alias expanded where it is used."""


class _LimitedLoader(yaml.SafeLoader):
    """A safe loader that counts, while composing, each node's depth and its expanded size."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.depth = 0
        self.sizes: dict[int, int] = {}  # id(node) -> its size with aliases expanded
        self.total = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _Refused(f"it nests deeper than {MAX_DEPTH} levels")
        try:
            node = super().compose_node(parent, index)
        finally:
            self.depth -= 1
        size = self.sizes.get(id(node))
        if size is None:  # a new node (an alias returns an anchored node already sized)
            size = 1 + sum(self.sizes[id(child)] for child in _children(node))
            self.sizes[id(node)] = size
        if size > MAX_NODES:
            raise _Refused(
                f"it expands to more than {MAX_NODES:,} values (aliases repeat what they refer to)"
            )
        return node


def _children(node: Any) -> list[Any]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


class _Refused(yaml.YAMLError):
    pass


def load_yaml(text: str, origin: str = "<yaml>") -> tuple[Any, Any]:
    """(the data, its composed node) of one YAML document; InvalidInput for invalid YAML or
    YAML past the limits."""
    if not isinstance(text, str):
        raise InvalidInput(f"{origin}: YAML must be text, got {type(text).__name__}")
    if len(text) > MAX_CHARS:
        raise InvalidInput(f"{origin}: the YAML is longer than {MAX_CHARS:,} characters")
    try:
        # the reader refuses control characters as the loader is built, so build it in here
        loader = _LimitedLoader(text)
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{origin}: not valid YAML: {exc}") from None
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except _Refused as exc:
        raise InvalidInput(f"{origin}: refused: {exc}; write it out plainly") from None
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{origin}: not valid YAML: {exc}") from None
    except RecursionError:
        raise InvalidInput(f"{origin}: refused: it nests too deeply") from None
    finally:
        loader.dispose()
    return data, node
