"""A render graph: nodes run in order, each fed the values earlier nodes produced."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from faceswap_vfx.params import PARAMS
from faceswap_vfx.render.nodes import STAGES, Node


class Graph:
    """An ordered chain of nodes. Checked on construction: every input is the frame or an
    output of an earlier node, every parameter is in the schema, and the stages come in
    :data:`~faceswap_vfx.render.nodes.STAGES` order (so each stage can run apart)."""

    def __init__(self, nodes: Sequence[Node], sources: tuple[str, ...] = ("frame",)):
        self.nodes = list(nodes)
        stages = [STAGES.index(node.stage) for node in self.nodes]
        if stages != sorted(stages):
            raise ValueError(f"nodes must come in stage order {STAGES}: "
                             f"{[n.stage for n in self.nodes]}")
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

    def run(self, params: dict[str, Any], *, stage: str | None = None,
            values: dict[str, Any] | None = None, **sources: Any) -> dict[str, Any]:
        """Run every node once, or those of one ``stage``, adding to ``values`` (the
        previous stages' values); return all values (sources included)."""
        values = {**(values or {}), **sources}
        for node in self.nodes:
            if stage is not None and node.stage != stage:
                continue
            out = node.run(values, params)
            if set(out) != set(node.outputs):
                raise RuntimeError(f"{node!r} returned {sorted(out)}")
            values.update(out)
        return values
