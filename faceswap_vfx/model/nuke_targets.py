"""Which libtorch each Nuke generation embeds, and whether an export uses only its operators.

Nuke's Inference node runs TorchScript in the libtorch Nuke ships: 1.12.1 in Nuke 14.x and
15.0, 2.1.1 in 15.1 and later (Foundry's *.cat File Creation* guide). A TorchScript file is
code that the loading libtorch compiles again: an operator, or an overload of one, that the
Nuke's libtorch lacks fails the load with "Unknown builtin op". :func:`missing_operators`
compares an export's operators (every node of its inlined graphs, nested blocks included)
with the operator list of the target's libtorch, recorded by ``tools/libtorch_ops.py`` from
a real install of that torch into ``libtorch_ops/<version>.txt``. 1.12.1 has no wheel for
Python 3.11; its list is that of 1.13.1, the closest release that installs here (Nuke 14's
operators are a subset except for operators added in 1.13: see the README).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import torch

from faceswap_vfx.errors import ParameterError


@dataclass(frozen=True)
class NukeTarget:
    """A Nuke generation: the versions it covers, its libtorch, and the torch release whose
    operator list stands for it (``checked_with``)."""

    nuke: str
    libtorch: str
    checked_with: str


TARGETS = {
    "14": NukeTarget("14.0-15.0", "1.12.1", "1.13.1"),
    "15.1": NukeTarget("15.1-17.x", "2.1.1", "2.1.1"),
}
"""Export targets by the name ``export --nuke`` takes (the first Nuke of each generation)."""


def target_for(nuke_version: str) -> NukeTarget:
    """The target of a Nuke version: "14", "14.1", "15.0" -> libtorch 1.12.1; "15.1",
    "15.2", "16", "17.0" -> 2.1.1. Raises :class:`ParameterError` for other text."""
    parts = str(nuke_version).strip().split(".")
    try:
        major = int(parts[0])
        minor = int(parts[1]) if len(parts) > 1 and parts[1] else 0
    except ValueError:
        raise ParameterError(f"--nuke {nuke_version!r} is not a Nuke version such as 14, "
                             "15.1 or 16.0") from None
    if major < 14:
        raise ParameterError(f"Nuke {nuke_version}: the Inference node's libtorch before "
                             "Nuke 14 is not a supported target (14 or later)")
    return TARGETS["14"] if (major, minor) < (15, 1) else TARGETS["15.1"]


def recorded_operators(torch_version: str) -> frozenset[str]:
    """The operators (``aten::name.overload``, ``prim::name``) of a torch release, as
    recorded in ``libtorch_ops/<version>.txt``."""
    try:
        text = (resources.files("faceswap_vfx.model") / "libtorch_ops"
                / f"{torch_version}.txt").read_text()
    except FileNotFoundError:
        raise ParameterError(f"no operator list recorded for torch {torch_version}") from None
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


def schema_name(schema: str) -> str:
    """``aten::size.int(Tensor self, int dim) -> int`` -> ``aten::size.int``."""
    return schema.split("(", 1)[0].strip()


def _nodes(block: torch._C.Block):
    for node in block.nodes():
        yield node
        for inner in node.blocks():
            yield from _nodes(inner)


def script_operators(module: torch.jit.ScriptModule) -> frozenset[str]:
    """The operators an exported module calls: the schema names of every node with one in
    its inlined ``forward`` graph, nested blocks included."""
    names = set()
    for node in _nodes(module.inlined_graph):
        schema = node.schema() if node.kind().startswith(("aten::", "prim::")) else "("
        if not schema.startswith("("):  # nodes without one say "(no schema)"
            names.add(schema_name(schema))
    return frozenset(names)


def missing_operators(module: torch.jit.ScriptModule, target: NukeTarget) -> list[str]:
    """The operators of ``module`` the target's recorded libtorch lacks (sorted)."""
    return sorted(script_operators(module) - recorded_operators(target.checked_with))
