"""The optimiser of the comb network: Adam with an equalised learning rate, its state carried
across growth.

Adam moves every parameter by about ``lr`` a step, whatever the size of its gradient. With
one ``lr`` for all layers, a wide layer (He-initialised weights of standard deviation
``~0.02`` at 512 channels) moves by ~5 % of its scale a step at ``lr = 1e-3``, a narrow
one by ~1 %: training at the paper's width diverges where a narrow network learns.
Progressive GANs (Karras et al. 2018) avoid this with the *equalised learning rate*: weights
stored at unit variance, scaled by their He constant in the forward pass. For Adam that is
the same as keeping ordinary weights and multiplying each layer's ``lr`` by its He standard
deviation (``init_std``, set by :mod:`faceswap_vfx.model.layers`), which is what
``lr_scaling="equalized"`` does: every weight then moves by ~``lr`` of its own scale a step,
at any width. Biases keep ``lr``. Checkpoints and exports are unchanged by it.

A new level adds parameters, so the optimiser is rebuilt (:func:`regrow_optimizer`); the
parameters that were already there keep their Adam state (moments and step count), so a
grow does not restart them with the full, uncorrected first steps of a fresh Adam.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn

from faceswap_vfx.model.comb import CombNetwork
from faceswap_vfx.train.config import TrainConfig

LR_SCALINGS = ("equalized", "none")
"""``TrainConfig.lr_scaling`` choices: per-layer He scaling of the lr, or one lr for all."""


def _scaled(modules: Iterator[nn.Module], equalized: bool) -> dict[float, list[nn.Parameter]]:
    """Parameters of ``modules`` keyed by their lr multiplier, in module order."""
    groups: dict[float, list[nn.Parameter]] = {}
    for module in modules:
        for name, param in module.named_parameters(recurse=False):
            scale = float(getattr(module, "init_std", 1.0)) if equalized and name == "weight" \
                else 1.0
            groups.setdefault(scale, []).append(param)
    return groups


def build_optimizer(model: CombNetwork, cfg: TrainConfig) -> torch.optim.Adam:
    """Adam over the shared parameters (groups named ``"shared"``) and each head's
    (``"head:<identity>"``), one group per lr multiplier (``lr_scale``)."""
    equalized = cfg.lr_scaling == "equalized"
    parts = [("shared", [model.encoder, model.trunk])]
    parts += [(f"head:{n}", [model.heads[n]]) for n in model.identities]
    groups = []
    for name, roots in parts:
        modules = (m for root in roots for m in root.modules())
        groups += [{"params": params, "name": name, "lr_scale": scale,
                    "lr": cfg.learning_rate * scale}
                   for scale, params in _scaled(modules, equalized).items()]
    return torch.optim.Adam(groups, lr=cfg.learning_rate, betas=tuple(cfg.betas), eps=cfg.eps)


def regrow_optimizer(model: CombNetwork, cfg: TrainConfig, old: torch.optim.Adam
                     ) -> torch.optim.Adam:
    """The optimiser for ``model`` after a grow: new parameters start fresh, the others keep
    their state in ``old``."""
    new = build_optimizer(model, cfg)
    for group in new.param_groups:
        for param in group["params"]:
            if param in old.state:
                new.state[param] = old.state[param]
    return new
