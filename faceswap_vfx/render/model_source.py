"""The network a render uses: a training run's newest checkpoint or an exported ``.pt``.

Either way the render gets a :data:`~faceswap_vfx.render.frame.Generate` callable, the
crop resolution the network wants and the working colour space it was trained in. With an
expression direction (:mod:`faceswap_vfx.model.direction`) and a strength other than 0, the
callable encodes the crop, adds ``strength * direction`` to its latent and decodes it with
the identity's head; strength 0 is the plain network.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from faceswap_vfx.errors import ModelFileError, NonFiniteError, ParameterError
from faceswap_vfx.render.frame import Generate

log = logging.getLogger(__name__)


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


def load_swap_model(model: str | Path, identity: str, device: torch.device | str = "cpu",
                    *, expression_direction: str | Path = "", expression_strength: float = 0.0
                    ) -> SwapModel:
    """Load ``model`` (a run folder or an exported ``.pt`` with its ``.json`` sidecar) for
    ``identity``. Raises :class:`ModelFileError` naming the file for anything wrong.

    ``expression_direction``/``expression_strength``: the render parameters of those names;
    a direction file is read and checked whenever given, and used when the strength is not
    0 (a strength without a direction is a :class:`ParameterError`).
    """
    path = Path(model)
    if not str(model):
        raise ModelFileError("no model given (--model RUN_OR_PT)")
    if expression_strength and not str(expression_direction):
        raise ParameterError(f"expression_strength is {expression_strength:g} but no "
                             "expression_direction file is given")
    if path.is_dir():
        loaded = _from_run(path, identity, device)
    elif path.suffix == ".pt" and path.is_file():
        loaded = _from_export(path, identity, device)
    else:
        raise ModelFileError("model not found: expected a training run folder or an exported "
                             ".pt", path=path)
    swap_model, module = loaded
    bad = [name for name, t in [*module.named_parameters(), *module.named_buffers()]
           if t.is_floating_point() and not bool(torch.isfinite(t).all())]
    if bad:
        raise NonFiniteError(f"the model's weights hold NaN or infinity ({len(bad)} tensors: "
                             f"{', '.join(bad[:3])}{', ...' if len(bad) > 3 else ''}); it "
                             f"cannot render", path=path)
    if str(expression_direction):
        swap_model.generate = _with_direction(module, Path(expression_direction),
                                              float(expression_strength), swap_model)
    return swap_model


def _with_direction(module: torch.nn.Module, file: Path, strength: float,
                    swap_model: SwapModel) -> Generate:
    """The generate callable of ``module`` with ``strength`` times the direction in ``file``
    added to the latent (the plain one when ``strength`` is 0)."""
    from faceswap_vfx.model.direction import LatentEdit, encoder_fingerprint, read_direction

    direction = read_direction(file)
    p = next(module.parameters())
    r = swap_model.resolution
    with torch.inference_mode():
        latent = module.encoder(torch.zeros(1, 3, r, r, device=p.device, dtype=p.dtype)).shape[1]
    if direction.latent != latent:
        raise ModelFileError(f"the direction has {direction.latent} latent values, the model "
                             f"{swap_model.source} has {latent}", path=file)
    if direction.encoder and direction.encoder != encoder_fingerprint(module.encoder):
        log.warning("expression direction %s was computed with another encoder than %s's "
                    "(trained further, or another model): its effect may differ", file,
                    swap_model.source)
    if strength == 0.0:
        return swap_model.generate
    log.info("expression: %s x %g (%s)", direction.name or file.name, strength, file)
    fast = _rewritten(module, swap_model.resolution)
    edit = LatentEdit(fast.encoder, fast.decoder, swap_model.resolution,
                      direction.offset(strength, p))
    return _inference(edit)


def _from_run(run: Path, identity: str, device: torch.device | str
              ) -> tuple[SwapModel, torch.nn.Module]:
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
    return SwapModel(_inference(_rewritten(module, module.resolution)), identity,
                     tuple(ckpt.identities), module.resolution, ckpt.colorspace, run), module


def _from_export(path: Path, identity: str, device: torch.device | str
                 ) -> tuple[SwapModel, torch.nn.Module]:
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
    return SwapModel(_inference(_rewritten(module, resolution)), identity, identities,
                     resolution, colorspace, path), module


def _rewritten(module: torch.nn.Module, resolution: int) -> torch.nn.Module:
    """:func:`~faceswap_vfx.model.inference.inference_module` of ``module`` (the same
    values up to float rounding, 1.3x faster at 256 px width 0.25 on one CPU thread);
    ``module`` itself when its weights are not laid out as a swap module's (an export of
    another version)."""
    from faceswap_vfx.model.inference import inference_module

    try:
        return inference_module(module.state_dict(), resolution)
    except ValueError as exc:
        log.info("running the model as it is (%s)", exc)
        return module


def _inference(module: torch.nn.Module) -> Generate:
    """``generate`` running ``module`` without autograd, in channels-last memory: oneDNN's
    NHWC convolutions take about half the time of NCHW ones on the CPU (and suit tensor
    cores on a GPU); the values are the same convolutions'."""
    module.eval()
    module.to(memory_format=torch.channels_last)

    def generate(crops: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return module(crops.contiguous(memory_format=torch.channels_last))

    return generate
