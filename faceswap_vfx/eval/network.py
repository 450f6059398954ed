"""A trained comb network opened for evaluation: the shared encoder and every identity's
decoder, at the level a render would use (:func:`~faceswap_vfx.model.export.export_level`).

Latents are ``(N, latent, 1, 1)``; images ``(N, 3, R, R)`` in [0, 1], working colour space.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from faceswap_vfx.model.direction import encoder_fingerprint
from faceswap_vfx.model.export import export_level, swap_module
from faceswap_vfx.train.checkpoint import (
    Checkpoint,
    latest_checkpoint,
    load_checkpoint,
    model_from_checkpoint,
)


@dataclass
class EvalNetwork:
    """``encoder``; ``decoders[identity]``; ``resolution`` px; ``latent`` size; the
    checkpoint it came from; ``batch``: images per forward pass."""

    encoder: nn.Module
    decoders: dict[str, nn.Module]
    resolution: int
    latent: int
    checkpoint: Checkpoint
    source: Path
    batch: int = 32

    @property
    def identities(self) -> tuple[str, ...]:
        return tuple(self.decoders)

    @property
    def latent_bytes(self) -> int:
        """Bytes of one latent stored as float16."""
        return 2 * self.latent

    def fingerprint(self) -> str:
        """:func:`~faceswap_vfx.model.direction.encoder_fingerprint` of the encoder."""
        return encoder_fingerprint(self.encoder)

    def _device(self) -> torch.device:
        return next(self.encoder.parameters()).device

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """``(N, 3, R, R)`` -> ``(N, latent, 1, 1)`` float32 (on the images' device)."""
        r = self.resolution
        if images.ndim != 4 or images.shape[1:] != (3, r, r):
            raise ValueError(f"images must be (N, 3, {r}, {r}), got {tuple(images.shape)}")
        with torch.inference_mode():
            out = [self.encoder(c.to(self._device(), torch.float32)).to(images.device)
                   for c in images.split(self.batch)]
        return torch.cat(out) if out else images.new_zeros(0, self.latent, 1, 1)

    def decode(self, z: torch.Tensor, identity: str) -> torch.Tensor:
        """``(N, latent, 1, 1)`` -> ``(N, 3, R, R)`` as ``identity`` (on z's device)."""
        if identity not in self.decoders:
            raise KeyError(f"unknown identity {identity!r}; the model has "
                           f"{', '.join(self.decoders)}")
        with torch.inference_mode():
            out = [self.decoders[identity](c.to(self._device(), torch.float32)).to(z.device)
                   for c in z.split(self.batch)]
        r = self.resolution
        return torch.cat(out) if out else z.new_zeros(0, 3, r, r)

    def describe(self) -> dict[str, Any]:
        """What the report says about the model."""
        ck = self.checkpoint
        return {"source": str(self.source), "checkpoint": str(ck.path),
                "identities": list(self.identities), "resolution": self.resolution,
                "latent": self.latent, "latent_bytes_float16": self.latent_bytes,
                "level": ck.level, "alpha": ck.alpha, "images_seen": ck.images_seen,
                "colorspace": ck.colorspace, "config": ck.model_config.to_dict(),
                "encoder_fingerprint": self.fingerprint()}


def load_network(run: str | Path, device: str | torch.device = "cpu") -> EvalNetwork:
    """A run folder (its newest checkpoint) or a checkpoint file, ready to evaluate.
    Raises :class:`~faceswap_vfx.errors.CheckpointError` naming the file."""
    path = Path(run)
    ckpt = load_checkpoint(latest_checkpoint(path) if path.is_dir() else path)
    net = model_from_checkpoint(ckpt, "cpu")
    level = export_level(net, ckpt.alpha)
    modules = {name: swap_module(net, name, level).to(device) for name in net.identities}
    first = next(iter(modules.values()))
    return EvalNetwork(first.encoder, {n: m.decoder for n, m in modules.items()},
                       first.resolution, net.config.latent, ckpt, path)
