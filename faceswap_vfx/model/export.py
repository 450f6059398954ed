"""Export one identity of a comb network as a TorchScript module for Nuke's CatFileCreator.

CatFileCreator conventions: ``forward`` takes one float tensor ``(1, C, H, W)`` (Nuke's
channels, C >= 3, RGB first) and returns one, ``(1, 3, H, W)``; everything else happens
inside ``forward``: NaN/inf and values outside [0, 1] are cleaned, the first three channels
are resized (antialiased bilinear) to the network's resolution when the input differs, and
the result is resized back. The module is the shared encoder plus that identity's decoder,
frozen at one level with ``alpha = 1``. Colour is the caller's business: the module
expects the run's working colour space (the sidecar says which; in Nuke an OCIOColorSpace
before and after). The sidecar (:func:`sidecar`) is the JSON that travels with the file.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

import torch
from torch import nn

from faceswap_vfx.errors import ParameterError
from faceswap_vfx.model.comb import CombNetwork
from faceswap_vfx.model.config import resolution_of

EXPORT_FORMAT = "faceswap_vfx.export"
CHANNELS = "rgba.red,rgba.green,rgba.blue"
"""The Inference node's channels in and out, as CatFileCreator's knobs take them."""
EXPORT_VERSION = 1


class SwapModule(nn.Module):
    """``(B, C>=3, H, W)`` float -> ``(B, 3, H, W)`` in [0, 1], the face as one identity."""

    def __init__(self, encoder: nn.Sequential, decoder: nn.Sequential, resolution: int):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.resolution = resolution

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rgb, resized = prepare_input(x, self.resolution)
        return restore_output(self.decoder(self.encoder(rgb)), x, resized)


def resize(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``(B, C, H, W)`` -> ``(B, C, height, width)``, antialiased bilinear, computed in float32
    and returned in ``x``'s dtype. Calls the one operator ``F.interpolate`` would, directly:
    scripted, ``F.interpolate`` takes every mode's operator into the file, among them
    operators older libtorch builds (Nuke's) do not have."""
    y = torch._C._nn._upsample_bilinear2d_aa(x.float(), [height, width], False, None)
    return y.to(x.dtype)


def prepare_input(x: torch.Tensor, resolution: int) -> tuple[torch.Tensor, bool]:
    """``(B, C>=3, H, W)`` -> the network's ``(B, 3, r, r)`` input in [0, 1] (NaN/inf
    cleaned, resized antialiased when H, W differ) and whether it was resized. Stays in
    ``x``'s dtype (a half-precision module gets half input)."""
    if x.dim() != 4 or x.size(1) < 3:
        raise ValueError("expected a (1, C, H, W) tensor with C >= 3 (RGB first)")
    rgb = torch.nan_to_num(x[:, :3], nan=0.0, posinf=1.0, neginf=0.0).clamp(0.0, 1.0)
    resized = rgb.size(2) != resolution or rgb.size(3) != resolution
    if resized:
        rgb = resize(rgb, resolution, resolution)
    return rgb, resized


def restore_output(y: torch.Tensor, x: torch.Tensor, resized: bool) -> torch.Tensor:
    """The network's output back at the input's size and dtype (the inverse of
    :func:`prepare_input`)."""
    if resized:
        y = resize(y, x.size(2), x.size(3)).clamp(0.0, 1.0)
    return y.to(x.dtype)


def export_level(model: CombNetwork, alpha: float) -> int:
    """The level to export a network that trained at ``alpha``: its own when faded in
    (``alpha == 1``), else the level below (complete, its RGB layers are still there)."""
    return model.level if alpha >= 1.0 or model.level == 0 else model.level - 1


def swap_module(model: CombNetwork, identity: str, level: int | None = None) -> SwapModule:
    """An eager :class:`SwapModule` (a frozen copy) of ``identity`` at ``level`` (default: the
    model's). ``level`` must be the model's or the one below it (its RGB layers exist).

    Raises :class:`ParameterError` for an identity the model does not have.
    """
    if identity not in model.identities:
        raise ParameterError(f"unknown identity {identity!r}; the model has "
                             f"{', '.join(model.identities)}")
    top = model.level if level is None else level
    if not max(0, model.level - 1) <= top <= model.level:
        raise ValueError(f"can export level {model.level} or {model.level - 1}, not {top}")
    enc = model.encoder
    encoder = [enc.from_rgb[str(top)]] + [enc.blocks[str(lv)] for lv in range(top, -1, -1)]
    decoder = [model.part(lv, identity).blocks[str(lv)] for lv in range(top + 1)]
    decoder.append(model.part(top, identity).to_rgb[str(top)])
    module = SwapModule(copy.deepcopy(nn.Sequential(*encoder)),
                        copy.deepcopy(nn.Sequential(*decoder)), resolution_of(top))
    module = module.to(torch.float32).eval()
    module.requires_grad_(False)
    return module


def export_torchscript(model: CombNetwork, identity: str, level: int | None = None
                       ) -> torch.jit.ScriptModule:
    """:func:`swap_module` as TorchScript, on the CPU (CatFileCreator reads TorchScript only,
    though torch 2.x marks it deprecated). The encoder and decoder are traced (no control
    flow: exact at any batch size), the wrapper around them is scripted."""
    module = swap_module(model, identity, level).cpu()
    example = torch.zeros(1, 3, module.resolution, module.resolution)
    with warnings.catch_warnings(), torch.no_grad():  # no_grad: the activations in place
        warnings.filterwarnings("ignore", r"`torch\.jit\.\w+` is deprecated", DeprecationWarning)
        module.encoder = torch.jit.trace(module.encoder, example)
        module.decoder = torch.jit.trace(module.decoder, module.encoder(example))
        return torch.jit.script(module)


def sidecar(model: CombNetwork, identity: str, level: int, colorspace: str,
            **extra: Any) -> dict[str, Any]:
    """The JSON that goes beside an exported module: format, version, identity, level,
    resolution, colour space, the network config, the tensor contract, and ``extra``."""
    r = resolution_of(level)
    return {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "identity": identity,
            "level": level, "resolution": r, "colorspace": colorspace,
            "model": model.config.to_dict(), "identities": list(model.identities),
            "input": f"float (1, C>=3, H, W), RGB first, {colorspace}; resized to {r}x{r} "
                     "inside when H, W differ",
            "channels_in": CHANNELS, "channels_out": CHANNELS,
            "output": "float (1, 3, H, W) in [0, 1], same colour space",
            "torch": torch.__version__, **extra}


def cattery_entry(stem: str, identity: str, nuke: str,
                  existing: dict[str, Any] | None = None) -> dict[str, Any]:
    """``cat.json`` for a Cattery folder holding ``<stem>.cat`` (made by CatFileCreator from
    ``<stem>.pt``): the fields ``nukescripts.cattery`` reads (``minimum_nuke_version_required``,
    ``version``, ``category``, ``description``, ``cats``: ``filepath``, ``name``, ``icon``).
    ``nuke`` is the target's range, e.g. "14.0-15.0": its first version is the minimum.
    ``existing``: the folder's ``cat.json`` so far; its other cats are kept (the minimum
    version is then the highest any of them needs)."""
    minimum = float(nuke.split("-")[0])
    cats = [c for c in (existing or {}).get("cats", [])
            if isinstance(c, dict) and c.get("filepath") != f"{stem}.cat"]
    if cats:
        minimum = max(minimum, float((existing or {}).get("minimum_nuke_version_required", 0)))
    cats.append({"filepath": f"{stem}.cat", "name": stem, "icon": ""})
    return {"minimum_nuke_version_required": minimum, "version": 1, "category": "FaceSwapVFX",
            "description": f"faceswap_vfx faces ({', '.join(c['name'] for c in cats)}): "
                           f"channels {CHANNELS} in and out, the aligned face crop in the "
                           f"colour space its sidecar names (last added: {identity})",
            "cats": cats}
