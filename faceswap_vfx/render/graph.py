"""A render graph: nodes run in order, each fed the values earlier nodes produced."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from faceswap_vfx.params import PARAMS
from faceswap_vfx.render.nodes import Node


class Graph:
    """An ordered chain of nodes. Checked on construction: every input is the frame or an
    output of an earlier node, every parameter is in the schema."""

    def __init__(self, nodes: Sequence[Node], sources: tuple[str, ...] = ("frame",)):
        self.nodes = list(nodes)
        available = set(sources)
        for node in self.nodes:
            missing = [name for name in node.inputs if name not in available]
            if missing:
                raise ValueError(f"{node!r} needs {', '.join(missing)}, which no earlier node "
                                 "makes")
            unknown = [p for p in node.params if p not in PARAMS]
            if unknown:
                raise ValueError(f"{node!r} declares unknown parameters {unknown}")
            available.update(node.outputs)

    @property
    def params(self) -> list[str]:
        """Every parameter the graph's nodes use, in first-use order."""
        return list(dict.fromkeys(p for node in self.nodes for p in node.params))

    def run(self, params: dict[str, Any], **sources: Any) -> dict[str, Any]:
        """Run every node once; return all values (sources included)."""
        values = dict(sources)
        for node in self.nodes:
            out = node.run(values, params)
            if set(out) != set(node.outputs):
                raise RuntimeError(f"{node!r} returned {sorted(out)}")
            values.update(out)
        return values
