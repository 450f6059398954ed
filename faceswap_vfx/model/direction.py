"""Latent directions: an edit (e.g. an expression) as one vector added to the shared latent.

A direction is the mean latent of one group of aligned faces minus the mean latent of
another (e.g. smiling minus neutral), computed with a network's shared encoder. At render
time the face is encoded, ``strength * vector`` is added to its latent and the result is
decoded by the target identity's head (:class:`LatentEdit`): strength 0 is the plain swap,
1 moves the face by the whole mean difference between the groups, -1 the other way.

The file (``*.direction.json``) is small, versioned JSON::

    {"format": "faceswap_vfx.latent_direction", "version": 1, "name": "smile",
     "latent": 256, "encoder": "<sha256 of the encoder weights>", "resolution": 64,
     "counts": [n_from, n_to], "sources": {...}, "norm": |vector|, "vector": [...]}

``encoder`` fingerprints the weights the latents came from (:func:`encoder_fingerprint`);
a run trained further, or another model with the same latent size, has another fingerprint
and the direction may mean something else there (the loader warns; a latent size that
differs is an error).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from faceswap_vfx.errors import ModelFileError
from faceswap_vfx.model.export import prepare_input, restore_output

DIRECTION_FORMAT = "faceswap_vfx.latent_direction"
DIRECTION_VERSION = 1


@dataclass(frozen=True)
class LatentDirection:
    """``vector``: float32 ``(latent,)``; ``name``: what it does; ``encoder``: the
    fingerprint of the encoder it was computed with; ``resolution``: that encoder's input px;
    ``counts``: images in the (from, to) groups; ``sources``: free-form provenance."""

    vector: torch.Tensor
    name: str = ""
    encoder: str = ""
    resolution: int = 0
    counts: tuple[int, int] = (0, 0)
    sources: Mapping[str, Any] = field(default_factory=dict)

    @property
    def latent(self) -> int:
        return int(self.vector.numel())

    def offset(self, strength: float, like: torch.Tensor) -> torch.Tensor:
        """``strength * vector`` as ``(1, latent, 1, 1)`` on the device/dtype of ``like``."""
        return (float(strength) * self.vector).to(like.device, like.dtype).view(1, -1, 1, 1)

    def to_json(self) -> str:
        """The file's text (see the module docstring)."""
        v = self.vector.detach().float().cpu()
        body = {"format": DIRECTION_FORMAT, "version": DIRECTION_VERSION, "name": self.name,
                "latent": self.latent, "encoder": self.encoder, "resolution": self.resolution,
                "counts": list(self.counts), "sources": dict(self.sources),
                "norm": float(v.norm()), "vector": [float(x) for x in v]}
        return json.dumps(body, indent=1) + "\n"


def mean_difference(z_from: torch.Tensor, z_to: torch.Tensor) -> torch.Tensor:
    """``mean(z_to) - mean(z_from)``: latents ``(N, latent)`` or ``(N, latent, 1, 1)`` ->
    ``(latent,)`` float32."""
    a, b = z_from.flatten(1).float(), z_to.flatten(1).float()
    if len(a) == 0 or len(b) == 0 or a.shape[1] != b.shape[1]:
        raise ValueError(f"need two non-empty groups of latents of one size, got "
                         f"{tuple(z_from.shape)} and {tuple(z_to.shape)}")
    return b.mean(0) - a.mean(0)


def encoder_fingerprint(encoder: nn.Module) -> str:
    """SHA-256 of an encoder's weights (names, shapes and float32 values, in state-dict
    order): the same for a run's eager encoder and its TorchScript export."""
    h = hashlib.sha256()
    for name, t in encoder.state_dict().items():
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.detach().float().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def direction_from_json(text: str, path: str | Path = "<text>") -> LatentDirection:
    """Parse and check a direction file's text; :class:`ModelFileError` naming ``path``."""
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise ModelFileError(f"latent direction is not JSON: {exc}", path=path) from None
    if not isinstance(body, dict) or body.get("format") != DIRECTION_FORMAT:
        raise ModelFileError(f"not a {DIRECTION_FORMAT} file", path=path)
    version = body.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(f"direction version {version!r} is not a positive integer",
                             path=path)
    if version > DIRECTION_VERSION:
        raise ModelFileError(f"direction version {version} was written by a newer "
                             f"faceswap_vfx; this one reads up to {DIRECTION_VERSION}", path=path)
    vector = body.get("vector")
    if (not isinstance(vector, list) or not vector
            or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in vector)
            or not all(math.isfinite(x) for x in vector)):
        raise ModelFileError("direction 'vector' is not a list of finite numbers", path=path)
    if body.get("latent") != len(vector):
        raise ModelFileError(f"direction says latent {body.get('latent')!r} but holds "
                             f"{len(vector)} values", path=path)
    counts = body.get("counts") or [0, 0]
    return LatentDirection(torch.tensor(vector, dtype=torch.float32), str(body.get("name", "")),
                           str(body.get("encoder", "")), int(body.get("resolution") or 0),
                           (int(counts[0]), int(counts[1])), dict(body.get("sources") or {}))


def read_direction(path: str | Path) -> LatentDirection:
    """Read a ``*.direction.json`` file; :class:`ModelFileError` naming it when missing or bad."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ModelFileError("latent direction file not found", path=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"cannot read the latent direction: {exc}", path=path) from None
    return direction_from_json(text, path)


class LatentEdit(nn.Module):
    """A swap module with a latent offset: ``decoder(encoder(x) + offset)``.

    ``encoder``/``decoder``/``resolution`` are those of a
    :class:`~faceswap_vfx.model.export.SwapModule` (eager or TorchScript); input and output
    follow its contract: ``(B, C>=3, H, W)`` float -> ``(B, 3, H, W)`` in [0, 1], NaN/inf
    and out-of-range input cleaned, resized to the network's side and back when H, W differ.
    ``offset``: ``(1, latent, 1, 1)``; zero gives the swap module's output exactly.
    """

    def __init__(self, encoder: nn.Module, decoder: nn.Module, resolution: int,
                 offset: torch.Tensor):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.resolution = int(resolution)
        self.register_buffer("offset", offset.detach().float().reshape(1, -1, 1, 1).clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rgb, resized = prepare_input(x, self.resolution)
        z = self.encoder(rgb)
        if z.shape[1:] != self.offset.shape[1:]:
            raise ValueError(f"latent is {tuple(z.shape[1:])}, the offset "
                             f"{tuple(self.offset.shape[1:])}")
        return restore_output(self.decoder(z + self.offset.to(z.dtype)), x, resized)
