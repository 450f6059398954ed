"""A VGG-style feature network for the perceptual loss, loaded from a file the user supplies.

Nothing is downloaded. The layers are laid out like torchvision's ``vgg*.features``
(``features.<index>.weight``), so the state dict of a torchvision VGG16 saved with
``torch.save(model.state_dict(), path)`` loads as is (its classifier keys are ignored).
A layout is a sequence of conv widths and ``"M"`` (2x2 max pool); every conv is 3x3, pad 1,
followed by a ReLU; a tap is the index of a layer whose output is compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from faceswap_vfx.errors import ModelFileError

Layout = Sequence[int | str]

VGG16_LAYOUT: tuple[int | str, ...] = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M",
                                       512, 512, 512, "M", 512, 512, 512, "M")
VGG16_TAPS = (3, 8, 15, 22)
"""relu1_2, relu2_2, relu3_3, relu4_3 of torchvision's ``vgg16().features``."""

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class FeatureNet(nn.Module):
    """Frozen VGG-style features: ``(B, 3, H, W)`` in [0, 1] -> one map per tap.

    Only the layers up to the last tap are built. Input is normalised by ImageNet
    mean and std. A max pool that would shrink a side below 1 px ends the pass early:
    taps past it are skipped (small images at low levels of the progressive network).
    """

    def __init__(self, layout: Layout = VGG16_LAYOUT, taps: Sequence[int] = VGG16_TAPS):
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 3
        for item in layout:
            if item == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [nn.Conv2d(c_in, int(item), 3, padding=1), nn.ReLU()]
                c_in = int(item)
        self.taps = tuple(sorted(taps))
        if not self.taps or self.taps[0] < 0 or self.taps[-1] >= len(layers):
            raise ValueError(f"taps {tuple(taps)} outside the {len(layers)} layers of the layout")
        self.features = nn.Sequential(*layers[: self.taps[-1] + 1])
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), False)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> FeatureNet:
        return super().train(False)  # always frozen

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """``(B, 3, H, W)`` in [0, 1] -> the tapped maps, shallow first."""
        h = (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)
        out = []
        for i, layer in enumerate(self.features):
            if isinstance(layer, nn.MaxPool2d) and min(h.shape[2:]) < 2:
                break
            h = layer(h)
            if i in self.taps:
                out.append(h)
        return out


def load_feature_net(path: str | Path, layout: Layout = VGG16_LAYOUT,
                     taps: Sequence[int] = VGG16_TAPS) -> FeatureNet:
    """Build a :class:`FeatureNet` and load its weights from ``path`` (a state dict).

    Raises :class:`ModelFileError` naming the file if it is missing, unreadable or does
    not hold ``features.<i>.weight/bias`` for every conv up to the last tap.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError("perceptual-loss weights not found", path=path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for a bad file
        raise ModelFileError("perceptual-loss weights unreadable as a torch state dict "
                             f"({type(exc).__name__})", path=path) from None
    if not isinstance(state, dict):
        raise ModelFileError("perceptual-loss weights are not a state dict", path=path)
    net = FeatureNet(layout, taps)
    wanted = net.state_dict().keys()
    picked = {k: v for k, v in state.items() if k in wanted}
    missing = sorted(set(wanted) - set(picked))
    if missing:
        raise ModelFileError(f"perceptual-loss weights lack {', '.join(missing[:4])}"
                             f"{' ...' if len(missing) > 4 else ''}", path=path)
    try:
        net.load_state_dict(picked)
    except RuntimeError as exc:
        raise ModelFileError(f"perceptual-loss weights do not fit the layout: {exc}",
                             path=path) from None
    return net
