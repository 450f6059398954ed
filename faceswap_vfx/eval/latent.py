"""The paper's latent-space tools (Naruniec et al. 2020, appendix, Figs. 14-16).

* :func:`interpolate`: two anchors, ``z(l) = (1 - l) z1 + l z2`` at equally spaced ``l``,
  decoded by every identity's head (Figs. 15 and 16; the anchors may be of a person the
  model never saw).
* :func:`nearest_neighbours`: for generated faces, the nearest training image of the
  target identity by L2 in pixel space inside the face mask (Fig. 14).
* :func:`expression_direction` / :func:`apply_direction`: the mean latent difference of two
  groups of aligned faces, added with a strength (a latent-space expression edit).

Images are ``(N, 3, R, R)`` float in [0, 1], masks ``(N, 1, R, R)`` in [0, 1].
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from faceswap_vfx.eval.network import EvalNetwork
from faceswap_vfx.io.atomic import atomic_write_text
from faceswap_vfx.model.direction import LatentDirection, mean_difference
from faceswap_vfx.train.dataset import resize_square

STEPS = 9
"""Nine equally spaced lambda, as in the paper."""


@dataclass
class Interpolation:
    """``anchors`` ``(2, 3, R, R)``, ``lambdas`` ``(S,)``, ``rows[identity]`` ``(S, 3, R, R)``
    and ``smoothness[identity]``: the largest pixel step between neighbouring lambda over
    the mean step (1.0: perfectly even)."""

    name: str
    anchors: torch.Tensor
    lambdas: torch.Tensor
    rows: dict[str, torch.Tensor]
    smoothness: dict[str, float]
    labels: tuple[str, str] = ("", "")
    in_sample: bool = True

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "anchors": list(self.labels), "in_sample": self.in_sample,
                "lambdas": [round(float(v), 6) for v in self.lambdas],
                "smoothness_max_over_mean_step": self.smoothness}


def lambdas(steps: int = STEPS) -> torch.Tensor:
    """``steps`` equally spaced values from 0 to 1."""
    if steps < 2:
        raise ValueError(f"interpolation needs at least 2 steps, got {steps}")
    return torch.linspace(0.0, 1.0, steps, dtype=torch.float64)


def interpolate(net: EvalNetwork, anchors: torch.Tensor, steps: int = STEPS,
                name: str = "", labels: tuple[str, str] = ("", ""),
                in_sample: bool = True) -> Interpolation:
    """Decode the line between two anchors' latents by every head (Figs. 15/16)."""
    if anchors.ndim != 4 or len(anchors) != 2:
        raise ValueError(f"anchors must be (2, 3, R, R), got {tuple(anchors.shape)}")
    z = net.encode(anchors).double()
    lam = lambdas(steps)
    path = ((1.0 - lam)[:, None, None, None] * z[0] + lam[:, None, None, None] * z[1]).float()
    rows = {ident: net.decode(path, ident) for ident in net.identities}
    smooth = {}
    for ident, images in rows.items():
        step = (images[1:] - images[:-1]).abs().flatten(1).mean(1)
        smooth[ident] = float(step.max() / step.mean().clamp_min(1e-12))
    return Interpolation(name, anchors, lam.float(), rows, smooth, labels, in_sample)


def farthest_pair(z: torch.Tensor) -> tuple[int, int]:
    """Indices ``(i, j)``, ``i < j``, of the two latents ``(N, ...)`` farthest apart."""
    flat = z.flatten(1).double()
    if len(flat) < 2:
        raise ValueError("need at least two latents")
    d = torch.cdist(flat, flat)
    i, j = divmod(int(d.argmax()), len(flat))
    return (min(i, j), max(i, j))


def masked_distances(generated: torch.Tensor, masks: torch.Tensor, pool: torch.Tensor,
                     chunk: int = 256) -> torch.Tensor:
    """``(N, M)`` RMS difference between each generated image and each image of ``pool``
    ``(M, 3, R, R)``, over pixels and channels weighted by that generated image's mask."""
    if generated.shape[1:] != pool.shape[1:] or masks.shape[0] != generated.shape[0]:
        raise ValueError(f"shapes do not match: generated {tuple(generated.shape)}, masks "
                         f"{tuple(masks.shape)}, pool {tuple(pool.shape)}")
    g = generated.double().flatten(2)                       # (N, 3, P)
    w = masks.double().flatten(2)                           # (N, 1, P)
    total = 3.0 * w.sum((1, 2)).clamp_min(1e-12)            # (N,)
    gg = (w * g * g).sum((1, 2))                            # (N,)
    wg = (w * g).flatten(1)                                 # (N, 3P)
    chunk = max(1, min(chunk, int(2**27 // max(1, g.shape[1] * g.shape[2]))))  # <= 1 GiB
    out = []
    for p in pool.split(chunk):
        t = p.double().flatten(2)                           # (m, 3, P)
        tt = (t * t).sum(1)                                 # (m, P)
        cross = wg @ t.flatten(1).T                         # (N, m)
        sq = gg[:, None] - 2.0 * cross + w[:, 0] @ tt.T     # (N, m)
        out.append((sq.clamp_min(0.0) / total[:, None]).sqrt())
    return torch.cat(out, 1) if out else generated.new_zeros(len(generated), 0).double()


@dataclass
class Neighbours:
    """Generated faces of ``target`` from ``source`` crops, each with its nearest training
    image of ``target`` (``index``, RMS ``distance`` in the source's face mask), and the
    training set's own leave-one-out nearest distances for scale."""

    source: str
    target: str
    inputs: torch.Tensor
    generated: torch.Tensor
    nearest: torch.Tensor
    index: list[int]
    distance: list[float]
    train_labels: list[str]
    train_loo: list[float]

    def to_json(self) -> dict[str, Any]:
        loo = sorted(self.train_loo)
        return {"source": self.source, "target": self.target,
                "nearest": [self.train_labels[i] for i in self.index],
                "distance_rms_in_mask": self.distance,
                "training_images": len(self.train_labels),
                "training_leave_one_out_median": loo[len(loo) // 2] if loo else None}


def nearest_neighbours(net: EvalNetwork, inputs: torch.Tensor, masks: torch.Tensor,
                       source: str, target: str, train_images: torch.Tensor,
                       train_masks: torch.Tensor, train_labels: Sequence[str]) -> Neighbours:
    """Swap ``inputs`` (of ``source``) to ``target`` and find each result's nearest
    training image of ``target`` (Fig. 14). Distances use the input's face mask (the
    generated face is where the input's face is: both are aligned crops), at the training
    images' resolution (the generated faces and masks are box-filtered down to it)."""
    generated = net.decode(net.encode(inputs), target).clamp(0.0, 1.0)
    size = train_images.shape[-1]
    d = masked_distances(resize_square(generated, size), resize_square(masks, size),
                         train_images)
    dist, idx = d.min(1)
    loo: list[float] = []
    if len(train_images) > 1:
        own = masked_distances(train_images, train_masks, train_images)
        own.fill_diagonal_(float("inf"))
        loo = [float(v) for v in own.min(1).values]
    return Neighbours(source, target, inputs, generated, train_images[idx],
                      [int(i) for i in idx], [float(v) for v in dist], list(train_labels), loo)


def expression_direction(net: EvalNetwork, group_from: torch.Tensor, group_to: torch.Tensor,
                         name: str = "", sources: Mapping[str, Any] | None = None
                         ) -> LatentDirection:
    """Mean latent of ``group_to`` minus that of ``group_from`` (aligned crops at the
    network's resolution), fingerprinted with the network's encoder."""
    vector = mean_difference(net.encode(group_from), net.encode(group_to))
    return LatentDirection(vector, name, net.fingerprint(), net.resolution,
                           (len(group_from), len(group_to)), dict(sources or {}))


def save_direction(direction: LatentDirection, path: str | Path) -> Path:
    """Write a direction file atomically; returns its path."""
    atomic_write_text(path, direction.to_json())
    return Path(path)


def apply_direction(net: EvalNetwork, images: torch.Tensor, direction: LatentDirection,
                    strengths: Sequence[float], identity: str) -> torch.Tensor:
    """``(S, N, 3, R, R)``: ``images`` encoded, moved by each strength times the direction,
    decoded as ``identity`` (what the render does with ``expression_strength``)."""
    if direction.latent != net.latent:
        raise ValueError(f"direction has {direction.latent} values, the network's latent "
                         f"{net.latent}")
    z = net.encode(images)
    return torch.stack([net.decode(z + direction.offset(s, z), identity).clamp(0.0, 1.0)
                        for s in strengths])
