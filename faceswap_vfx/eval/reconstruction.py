"""Reconstruction of held-out crops through each identity's own head, against JPEG.

Methods (rows of the report's table), each on the same crops at the network's resolution:

* ``network``: encode, round the latent to float16 (what its byte count assumes), decode
  with the crop's own identity;
* ``jpeg_latent_size``: JPEG at the highest quality whose payload fits the latent's
  float16 bytes (:func:`faceswap_vfx.eval.jpeg.at_budget`);
* ``jpeg_q85``: JPEG at quality 85 (seed 003's baseline; ``jpeg_q<N>`` for another).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from faceswap_vfx.eval import jpeg
from faceswap_vfx.eval.data import Crops
from faceswap_vfx.eval.metrics import image_metrics, summarise
from faceswap_vfx.eval.network import EvalNetwork

JPEG_QUALITY = 85


@dataclass
class Reconstruction:
    """One identity's figures and outputs: ``outputs[method]`` ``(N, 3, R, R)``;
    ``figures[method][metric][region]`` summaries; ``per_image`` the raw values;
    ``sizes[method]`` bytes and qualities."""

    identity: str
    crops: Crops
    outputs: dict[str, torch.Tensor] = field(default_factory=dict)
    figures: dict[str, dict[str, dict[str, dict[str, float]]]] = field(default_factory=dict)
    per_image: dict[str, dict[str, dict[str, list[float]]]] = field(default_factory=dict)
    sizes: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"identity": self.identity, "source": str(self.crops.source),
                "crops": len(self.crops), "labels": self.crops.labels,
                "template_masks": self.crops.template_masks, "figures": self.figures,
                "sizes": self.sizes, "per_image": self.per_image}


def _sizes(bytes_: list[int]) -> dict[str, float]:
    a = np.asarray(bytes_, np.float64)
    return {"mean": float(a.mean()), "min": float(a.min()), "max": float(a.max())}


def reconstruct(net: EvalNetwork, crops: Crops, identity: str,
                jpeg_quality: int = JPEG_QUALITY) -> Reconstruction:
    """Every method (module docstring) on ``crops`` of ``identity``, with their metrics."""
    out = Reconstruction(identity, crops)
    z = net.encode(crops.images).half().float()
    out.outputs["network"] = net.decode(z, identity).clamp(0.0, 1.0)
    out.sizes["network"] = {"bytes": _sizes([net.latent_bytes] * len(crops)),
                            "what": f"{net.latent} float16 latent values"}
    budget = jpeg.at_budget(crops.images, net.latent_bytes)
    out.outputs["jpeg_latent_size"] = budget.images
    out.sizes["jpeg_latent_size"] = {
        "budget_bytes": net.latent_bytes, "payload_bytes": _sizes(budget.payload_bytes),
        "file_bytes": _sizes(budget.file_bytes), "quality": _sizes(budget.quality),
        "qualities": budget.quality,
        "fits": int(sum(p <= net.latent_bytes for p in budget.payload_bytes))}
    fixed = jpeg.at_quality(crops.images, jpeg_quality)
    name = f"jpeg_q{jpeg_quality}"
    out.outputs[name] = fixed.images
    out.sizes[name] = {"quality": jpeg_quality, "payload_bytes": _sizes(fixed.payload_bytes),
                       "file_bytes": _sizes(fixed.file_bytes)}
    for method, images in out.outputs.items():
        values = image_metrics(images, crops.images, crops.masks)
        out.figures[method] = {m: {r: summarise(v) for r, v in regions.items()}
                               for m, regions in values.items()}
        out.per_image[method] = {m: {r: [float(x) for x in v] for r, v in regions.items()}
                                 for m, regions in values.items()}
    return out


def mean_over_identities(results: list[Reconstruction]) -> dict[str, Any]:
    """Per method, metric and region: the mean over identities of their means."""
    if not results:
        return {}
    table: dict[str, Any] = {}
    for method, metrics in results[0].figures.items():
        table[method] = {m: {r: float(np.mean([res.figures[method][m][r]["mean"]
                                               for res in results]))
                             for r in regions} for m, regions in metrics.items()}
    return table
