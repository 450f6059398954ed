"""The network a render uses: a training run's newest checkpoint or an exported ``.pt``.

Either way the render gets a :data:`~faceswap_vfx.render.frame.Generate` callable, the
crop resolution the network wants and the working colour space it was trained in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from faceswap_vfx.errors import ModelFileError
from faceswap_vfx.render.frame import Generate


@dataclass
class SwapModel:
    """A loaded network for one identity."""

    generate: Generate
    identity: str
    identities: tuple[str, ...]
    resolution: int
    colorspace: str
    source: Path


def resolve_device(name: str = "auto") -> torch.device:
    """``"auto"``: CUDA when present, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ModelFileError("device 'cuda' asked for, but no CUDA GPU is available")
    return torch.device(name)


def _check_identity(identity: str, identities: tuple[str, ...], path: Path) -> None:
    if identity not in identities:
        raise ModelFileError(f"the model has no identity {identity!r}; it has "
                             f"{', '.join(identities)}", path=path)


def load_swap_model(model: str | Path, identity: str, device: torch.device | str = "cpu"
                    ) -> SwapModel:
    """Load ``model`` (a run folder or an exported ``.pt`` with its ``.json`` sidecar) for
    ``identity``. Raises :class:`ModelFileError` naming the file for anything wrong."""
    path = Path(model)
    if not str(model):
        raise ModelFileError("no model given (--model RUN_OR_PT)")
    if path.is_dir():
        return _from_run(path, identity, device)
    if path.suffix == ".pt" and path.is_file():
        return _from_export(path, identity, device)
    raise ModelFileError("model not found: expected a training run folder or an exported .pt",
                         path=path)


def _from_run(run: Path, identity: str, device: torch.device | str) -> SwapModel:
    from faceswap_vfx.model.export import export_level, swap_module
    from faceswap_vfx.train.checkpoint import (
        latest_checkpoint,
        load_checkpoint,
        model_from_checkpoint,
    )

    ckpt = load_checkpoint(latest_checkpoint(run))
    _check_identity(identity, tuple(ckpt.identities), run)
    net = model_from_checkpoint(ckpt, "cpu")
    module = swap_module(net, identity, export_level(net, ckpt.alpha)).to(device)
    return SwapModel(_inference(module), identity, tuple(ckpt.identities), module.resolution,
                     ckpt.colorspace, run)


def _from_export(path: Path, identity: str, device: torch.device | str) -> SwapModel:
    side = path.with_suffix(".json")
    try:
        meta = json.loads(side.read_text())
        identities = (meta["identity"],)
        resolution, colorspace = int(meta["resolution"]), str(meta["colorspace"])
    except FileNotFoundError:
        raise ModelFileError("the exported model's sidecar .json is missing", path=side) from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelFileError(f"unreadable sidecar: {exc}", path=side) from None
    _check_identity(identity, identities, path)
    try:
        module = torch.jit.load(str(path), map_location=device)
    except (RuntimeError, ValueError) as exc:
        raise ModelFileError(f"not a TorchScript module: {str(exc).splitlines()[0]}",
                             path=path) from None
    return SwapModel(_inference(module), identity, identities, resolution, colorspace, path)


def _inference(module: torch.nn.Module) -> Generate:
    module.eval()

    def generate(crops: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return module(crops)

    return generate
