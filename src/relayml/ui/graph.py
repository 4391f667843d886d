"""Small directed graphs drawn on the server as SVG: lineage (dataset → pipeline run → dataset →
run → model) and a pipeline's steps.

`Graph` collects nodes and edges; `layout()` places each node in the column of its longest
path from a source (so every edge points right) and stacks a column's nodes in the order they
were added. The template draws the result (`_graph.html`): every label goes through Jinja's
escaping, each node is a link, and the same edges are listed as text beside the picture.
"""

from __future__ import annotations

from dataclasses import dataclass, field

NODE_W = 190
NODE_H = 44
GAP_X = 60
GAP_Y = 18
PAD = 8
LABEL_CHARS = 24


@dataclass
class Node:
    id: str
    kind: str  # dataset, pipeline_run, run, model, step; also the CSS class
    label: str
    href: str = ""
    detail: str = ""  # a second line: status, step, version
    state: str = ""  # a status for the node's colour (quarantined, failed, finished ...)
    current: bool = False  # the node the page is about
    x: float = 0
    y: float = 0

    @property
    def short(self) -> str:
        text = self.label
        return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"

    @property
    def cx(self) -> float:
        return self.x + NODE_W

    @property
    def cy(self) -> float:
        return self.y + NODE_H / 2


@dataclass
class Edge:
    source: Node
    target: Node
    label: str = ""

    @property
    def path(self) -> str:
        """A gentle S-curve from the source's right edge to the target's left edge."""
        x1, y1 = self.source.cx, self.source.cy
        x2, y2 = self.target.x, self.target.cy
        mid = (x1 + x2) / 2
        return f"M{x1:.0f},{y1:.0f} C{mid:.0f},{y1:.0f} {mid:.0f},{y2:.0f} {x2 - 4:.0f},{y2:.0f}"


@dataclass
class Graph:
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    width: float = 0
    height: float = 0

    def add(self, node: Node) -> Node:
        """The node, or the one already added with its id (its fields kept)."""
        found = self.nodes.get(node.id)
        if found is not None:
            found.current = found.current or node.current
            return found
        self.nodes[node.id] = node
        return node

    def link(self, source: Node, target: Node, label: str = "") -> None:
        source, target = self.nodes[source.id], self.nodes[target.id]
        if source is target or any(e.source is source and e.target is target for e in self.edges):
            return
        self.edges.append(Edge(source, target, label))

    def layout(self) -> Graph:
        rank = {n: 0 for n in self.nodes}
        # longest path from a source; at most len(nodes) rounds, so a cycle cannot hang it
        for _ in range(len(self.nodes)):
            changed = False
            for e in self.edges:
                if rank[e.target.id] < rank[e.source.id] + 1:
                    rank[e.target.id] = min(rank[e.source.id] + 1, len(self.nodes))
                    changed = True
            if not changed:
                break
        rows: dict[int, int] = {}
        for node in self.nodes.values():
            column = rank[node.id]
            row = rows.get(column, 0)
            rows[column] = row + 1
            node.x = PAD + column * (NODE_W + GAP_X)
            node.y = PAD + row * (NODE_H + GAP_Y)
        columns = max(rank.values(), default=0) + 1
        self.width = 2 * PAD + columns * NODE_W + (columns - 1) * GAP_X
        self.height = 2 * PAD + max(rows.values(), default=1) * (NODE_H + GAP_Y) - GAP_Y
        return self
