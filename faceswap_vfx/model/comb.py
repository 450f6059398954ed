"""The comb network: one shared encoder, a shared decoder trunk, one decoder head per identity.

The network grows one level at a time (:meth:`CombNetwork.grow`); level ``L`` works at
``4 * 2**L`` px. Fade-in after a grow (Fig. 13, progressive GANs), with ``a = alpha``::

    encoder input:  (1-a) * from_rgb[L-1](downsample(x)) + a * level[L](from_rgb[L](x))
    decoder output: (1-a) * upsample(to_rgb[L-1](h[L-1]))  + a * to_rgb[L](level[L](h[L-1]))

so at ``alpha=0`` a freshly grown network computes exactly the upsampled output of the
network before the grow. A network at level ``L`` holds the from/to-RGB layers of levels
``L-1`` (for the fade) and ``L`` only; a grow deletes those of ``L-2``. State-dict keys
therefore depend on the level alone (``encoder.blocks.3.conv1.weight``,
``trunk.to_rgb.1.conv.weight``, ``heads.<identity>.blocks.4.conv2.bias``, ...): a checkpoint
written at level ``L`` loads into ``CombNetwork(config, identities, level=L)``.

The training step reaches the parts separately: :attr:`encoder` and :attr:`trunk` are
trained on every identity, ``heads[name]`` on its own identity only. Adding a level adds
parameters: an optimiser must be rebuilt (or extended) after every :meth:`grow`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import chain
from typing import Any

import torch
from torch import nn

from faceswap_vfx.errors import ParameterError
from faceswap_vfx.model.config import CombConfig, resolution_of
from faceswap_vfx.model.layers import (
    DecoderBase,
    DecoderLevel,
    EncoderBase,
    EncoderLevel,
    FromRGB,
    ToRGB,
    downsample,
    upsample,
)


def _check_alpha(alpha: float) -> float:
    alpha = float(alpha)
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha {alpha} outside [0, 1]")
    return alpha


class Encoder(nn.Module):
    """Shared encoder ``(B, 3, R, R) -> (B, latent, 1, 1)``; ``blocks[str(L)]`` is level L."""

    def __init__(self, config: CombConfig):
        super().__init__()
        self.config = config
        self.blocks = nn.ModuleDict()
        self.from_rgb = nn.ModuleDict()

    @property
    def level(self) -> int:
        """Highest level built (-1 before the first :meth:`add_level`)."""
        return len(self.blocks) - 1

    def add_level(self, factory: dict[str, Any]) -> None:
        """Build level ``self.level + 1`` and its from-RGB; drop the from-RGB two levels down."""
        level, cfg = self.level + 1, self.config
        c = cfg.channels(level)
        self.blocks[str(level)] = (EncoderBase(c, cfg.latent, factory) if level == 0
                                   else EncoderLevel(c, cfg.channels(level - 1), factory))
        self.from_rgb[str(level)] = FromRGB(c, factory)
        if str(level - 2) in self.from_rgb:
            del self.from_rgb[str(level - 2)]

    def forward(self, x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
        """``x``: ``(B, 3, R, R)`` at the current level's R; returns ``(B, latent, 1, 1)``."""
        top = self.level
        h = self.blocks[str(top)](self.from_rgb[str(top)](x))
        if top > 0 and alpha < 1.0:
            h = (1.0 - alpha) * self.from_rgb[str(top - 1)](downsample(x)) + alpha * h
        for level in range(top - 1, -1, -1):
            h = self.blocks[str(level)](h)
        return h


class DecoderPart(nn.Module):
    """Consecutive decoder levels and their to-RGB layers: the trunk, or one identity's head.

    ``blocks[str(L)]`` is decoder level L, ``to_rgb[str(L)]`` its to-RGB (while it exists).
    """

    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.ModuleDict()
        self.to_rgb = nn.ModuleDict()

    def add_level(self, level: int, config: CombConfig, factory: dict[str, Any]) -> None:
        """Build decoder ``level`` and its to-RGB in this part."""
        c = config.channels(level)
        self.blocks[str(level)] = (DecoderBase(config.latent, c, factory) if level == 0
                                   else DecoderLevel(config.channels(level - 1), c, factory))
        self.to_rgb[str(level)] = ToRGB(c, factory)


class CombNetwork(nn.Module):
    """Comb network of :class:`CombConfig` ``config`` for the named ``identities``.

    Built at ``level`` (default 0, 4x4 px) on ``device``/``dtype`` (torch defaults if None);
    grows up to ``config.max_level``. Images are ``(B, 3, R, R)`` display-referred RGB in
    [0, 1] with ``R == self.resolution``.
    """

    def __init__(self, config: CombConfig, identities: Sequence[str], *, level: int = 0,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None):
        super().__init__()
        names = list(identities)
        if not names:
            raise ParameterError("a comb network needs at least one identity")
        if len(set(names)) != len(names):
            raise ParameterError(f"identities are not unique: {names}")
        for name in names:
            if not isinstance(name, str) or not name or "." in name:
                raise ParameterError(f"identity name {name!r} is empty, not text or has a '.'")
        self.config = config
        self.encoder = Encoder(config)
        self.trunk = DecoderPart()
        self.heads = nn.ModuleDict({name: DecoderPart() for name in names})
        self._add_level(dict(device=device, dtype=dtype))
        self.grow_to(level)

    # --- structure ----------------------------------------------------------------------
    @property
    def level(self) -> int:
        """Current level: 0 is 4x4 px ... 8 is 1024x1024 px."""
        return self.encoder.level

    @property
    def resolution(self) -> int:
        """Side in px of the images at the current level: ``4 * 2**level``."""
        return resolution_of(self.level)

    @property
    def identities(self) -> tuple[str, ...]:
        """Identity names, in head order."""
        return tuple(self.heads.keys())

    def part(self, level: int, identity: str) -> DecoderPart:
        """The decoder part that holds ``level`` for ``identity``: the trunk or its head."""
        return self.trunk if self.config.is_shared(level) else self.heads[identity]

    def _add_level(self, factory: dict[str, Any]) -> None:
        self.encoder.add_level(factory)
        level = self.encoder.level
        parts = [self.trunk] if self.config.is_shared(level) else list(self.heads.values())
        for part in parts:
            part.add_level(level, self.config, factory)
        if level >= 2:
            old = [self.trunk] if self.config.is_shared(level - 2) else self.heads.values()
            for part in old:
                del part.to_rgb[str(level - 2)]

    def grow(self) -> None:
        """Add the next level (new weights on the device and dtype of the current ones).

        Rebuild the optimiser afterwards: the new level's parameters are new tensors.
        """
        if self.level >= self.config.max_level:
            raise ValueError(f"already at the last level {self.config.max_level}")
        p = next(self.parameters())
        self._add_level(dict(device=p.device, dtype=p.dtype))

    def grow_to(self, level: int) -> CombNetwork:
        """Grow until ``self.level == level`` (e.g. before loading a checkpoint); returns self."""
        if not self.level <= level <= self.config.max_level:
            raise ValueError(f"cannot grow from level {self.level} to {level} "
                             f"(max {self.config.max_level})")
        while self.level < level:
            self.grow()
        return self

    def shared_parameters(self) -> Iterator[nn.Parameter]:
        """Encoder and trunk: trained on every identity."""
        return chain(self.encoder.parameters(), self.trunk.parameters())

    def head_parameters(self, identity: str) -> Iterator[nn.Parameter]:
        """One identity's head: trained on that identity only."""
        self._check_identity(identity)
        return self.heads[identity].parameters()

    # --- checks ---------------------------------------------------------------------------
    def _check_identity(self, identity: str) -> None:
        if identity not in self.heads:
            raise KeyError(f"unknown identity {identity!r}; known: {', '.join(self.heads)}")

    def _check_image(self, x: torch.Tensor, name: str) -> None:
        r = self.resolution
        if (not isinstance(x, torch.Tensor) or x.ndim != 4 or x.shape[1] != 3
                or x.shape[2:] != (r, r) or not x.is_floating_point()):
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"{name} must be float (B, 3, {r}, {r}) at level {self.level}, "
                             f"got {shape}")

    # --- running --------------------------------------------------------------------------
    def encode(self, x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
        """``(B, 3, R, R)`` in [0, 1] -> latent ``(B, latent, 1, 1)``."""
        self._check_image(x, "x")
        return self.encoder(x, _check_alpha(alpha))

    def decode(self, z: torch.Tensor, identity: str, alpha: float = 1.0) -> torch.Tensor:
        """Latent ``(B, latent, 1, 1)`` -> ``(B, 3, R, R)`` in [0, 1] as ``identity``."""
        self._check_identity(identity)
        alpha = _check_alpha(alpha)
        if z.ndim != 4 or z.shape[1:] != (self.config.latent, 1, 1):
            raise ValueError(f"z must be (B, {self.config.latent}, 1, 1), got {tuple(z.shape)}")
        top, h, below = self.level, z, z
        for level in range(top + 1):
            below = h
            h = self.part(level, identity).blocks[str(level)](h)
        out = self.part(top, identity).to_rgb[str(top)](h)
        if top > 0 and alpha < 1.0:
            old = upsample(self.part(top - 1, identity).to_rgb[str(top - 1)](below))
            out = (1.0 - alpha) * old + alpha * out
        return out

    def forward(self, x: torch.Tensor, identity: str, alpha: float = 1.0) -> torch.Tensor:
        """Encode ``x`` ``(B, 3, R, R)`` and decode it as ``identity``; same shape, in [0, 1]."""
        return self.decode(self.encode(x, alpha), identity, alpha)

    def swap(self, crops: torch.Tensor, identity: str, *, alpha: float = 1.0,
             batch_size: int | None = None, bf16: bool = False) -> torch.Tensor:
        """Inference: aligned ``crops`` ``(B, 3, R, R)`` in [0, 1] -> faces of ``identity``.

        Runs under :func:`torch.inference_mode` on the device and dtype of the weights, in
        chunks of ``batch_size`` (default: all at once); ``bf16`` turns on bfloat16 autocast
        (meant for CUDA). The result has the device and dtype of ``crops``.
        """
        self._check_identity(identity)
        self._check_image(crops, "crops")
        if len(crops) == 0:
            return crops.clone()
        p = next(self.parameters())
        chunks = crops.split(batch_size or len(crops))
        with torch.inference_mode(), torch.autocast(p.device.type, torch.bfloat16, enabled=bf16):
            out = [self(c.to(p.device, p.dtype), identity, alpha).to(crops.device, crops.dtype)
                   for c in chunks]
        return torch.cat(out)
