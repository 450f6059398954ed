"""The frozen configuration of a training run, saved as ``RUN/config.json``.

A run is :class:`RunConfig`: the network's :class:`~faceswap_vfx.model.config.CombConfig`,
the training hyper-parameters (:class:`TrainConfig`, with :class:`AugmentConfig`) and the
datasets, one ``(identity, folder)`` pair each (an identity may have several folders).
Training hyper-parameters are not artist parameters, so they live here and not in
:mod:`faceswap_vfx.params`. Lengths are in images (one image = one crop of one identity
shown once), never in steps, so they do not change with the batch size.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faceswap_vfx.errors import ParameterError
from faceswap_vfx.io.atomic import atomic_write_text
from faceswap_vfx.model.config import CombConfig
from faceswap_vfx.train.schedule import PhaseLengths, ScheduleConfig, total_images

RUN_FORMAT = "faceswap_vfx.run"
RUN_VERSION = 2
"""2: ``train.lr_scaling`` (version 1 runs trained with one lr for all layers: ``"none"``)."""


def _fields_from(cls: type, values: Mapping[str, Any], what: str) -> dict[str, Any]:
    unknown = sorted(set(values) - {f.name for f in dataclasses.fields(cls)})
    if unknown:
        raise ParameterError(f"{what}: unknown key(s) {', '.join(unknown)}")
    return dict(values)


def _check(ok: bool, what: str, name: str, value: Any, why: str) -> None:
    if not ok:
        raise ParameterError(f"{what} {name}={value!r} {why}")


@dataclass(frozen=True)
class AugmentConfig:
    """On-the-fly augmentation (:mod:`faceswap_vfx.train.augment`), applied to the input and
    its target alike.

    ``rotate_deg``: rotation drawn in +-this, degrees. ``scale``: zoom factor drawn in
    ``[1/(1+scale), 1+scale]`` (log-uniform). ``shift``: translation in +-this fraction of
    the crop side. ``flip``: probability of a horizontal mirror. ``exposure_stops``: scene
    exposure change in +-this many stops, applied to the sRGB-like encoded values as a gain
    ``2**(stops / 2.2)``. ``colour``: per-channel gain in ``1 +- colour``.
    """

    rotate_deg: float = 3.0
    scale: float = 0.05
    shift: float = 0.03
    flip: float = 0.5
    exposure_stops: float = 0.25
    colour: float = 0.03

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            _check(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                   and v >= 0, "augment", f.name, v, "is not a finite number >= 0")
        _check(self.flip <= 1, "augment", "flip", self.flip, "is not a probability")
        _check(self.colour < 1, "augment", "colour", self.colour, "must be below 1")

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> AugmentConfig:
        return cls(**_fields_from(cls, values, "augment config"))


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of progressive training.

    ``batch_per_identity``: crops of every identity in each step (balanced sampling), per
    process. Optimiser (:mod:`faceswap_vfx.train.optimizer`): Adam with ``betas`` (0.0,
    0.99), ``eps`` 1e-8, the progressive-GAN settings (Karras et al. 2018; the paper gives
    none), with their equalised learning rate (``lr_scaling``
    ``"equalized"``: each layer's lr times its He standard deviation; ``"none"``: one lr for
    every layer, which diverges at wide widths); its state is carried across levels.
    ``learning_rate`` 3e-3 (progressive GANs': 1e-3) learns as fast at width 0.125 as the
    unequalised 1e-3 did, and stays stable at width 1.0 (``bench/train_stability.py``).
    ``loss_weights``: loss name -> weight
    (:data:`faceswap_vfx.model.losses.LOSSES`), ``loss_options``: name -> factory keyword
    arguments (e.g. ``{"perceptual": {"path": "vgg16.pth"}}``), ``background_weight``:
    weight of pixels outside the face mask. ``fade_images``/``stabilise_images``: the
    growth schedule per level (see :class:`~faceswap_vfx.train.schedule.ScheduleConfig`).
    ``max_images``: stop after this many images (None: when the schedule ends; more trains
    longer at the last level). ``divergence_factor``/``divergence_images``: the run stops
    with :class:`~faceswap_vfx.errors.TrainingDivergedError` when its loss stays above this
    factor times its best at the level for this many images (factor 0: never; a non-finite
    loss stops it at once; :mod:`faceswap_vfx.train.divergence`).
    ``log_images``/``preview_images``/``checkpoint_images``: intervals of the log line, the
    preview grid and the checkpoint. ``keep_checkpoints``:
    how many recent checkpoints stay on disk. ``preview_per_identity``: crops per identity
    in the preview grid. ``device``: ``"auto"`` (CUDA when present, else CPU) or a torch
    device string. ``bf16`` and ``channels_last`` apply on CUDA only. ``deterministic``:
    deterministic algorithms on CPU (a resumed run repeats an uninterrupted one bit for bit).
    ``tensorboard``: write TensorBoard scalars to ``RUN/tensorboard``.
    """

    batch_per_identity: int = 8
    learning_rate: float = 3e-3
    betas: tuple[float, float] = (0.0, 0.99)
    eps: float = 1e-8
    lr_scaling: str = "equalized"
    loss_weights: Mapping[str, float] = field(
        default_factory=lambda: {"l1": 1.0, "ms_ssim": 1.0})
    loss_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    background_weight: float = 0.1
    fade_images: PhaseLengths = 600_000
    stabilise_images: PhaseLengths = 600_000
    max_images: int | None = None
    divergence_factor: float = 2.0
    divergence_images: int = 20_000
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    seed: int = 0
    log_images: int = 10_000
    preview_images: int = 100_000
    checkpoint_images: int = 200_000
    keep_checkpoints: int = 3
    preview_per_identity: int = 4
    device: str = "auto"
    bf16: bool = True
    channels_last: bool = True
    deterministic: bool = True
    tensorboard: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.augment, Mapping):  # from JSON
            object.__setattr__(self, "augment", AugmentConfig.from_dict(self.augment))
        for name in ("betas", "fade_images", "stabilise_images"):
            if isinstance(getattr(self, name), list):
                object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "loss_weights", dict(self.loss_weights))
        object.__setattr__(self, "loss_options", {k: dict(v) for k, v in
                                                  self.loss_options.items()})
        _check(isinstance(self.divergence_factor, int | float) and self.divergence_factor >= 0,
               "train", "divergence_factor", self.divergence_factor, "is not a number >= 0")
        for name in ("batch_per_identity", "divergence_images", "log_images", "preview_images",
                     "checkpoint_images", "keep_checkpoints", "preview_per_identity"):
            v = getattr(self, name)
            _check(isinstance(v, int) and not isinstance(v, bool) and v >= 1, "train", name, v,
                   "is not a whole number >= 1")
        _check(self.learning_rate > 0, "train", "learning_rate", self.learning_rate, "is not > 0")
        _check(self.lr_scaling in ("equalized", "none"), "train", "lr_scaling",
               self.lr_scaling, "is not 'equalized' or 'none'")
        _check(len(self.betas) == 2 and all(0 <= b < 1 for b in self.betas), "train", "betas",
               self.betas, "are not two numbers in [0, 1)")
        _check(0 <= self.background_weight <= 1, "train", "background_weight",
               self.background_weight, "is not in [0, 1]")
        _check(self.max_images is None or (isinstance(self.max_images, int)
                                           and self.max_images >= 0),
               "train", "max_images", self.max_images, "is not None or a whole number >= 0")
        _check(isinstance(self.seed, int) and self.seed >= 0, "train", "seed", self.seed,
               "is not a whole number >= 0")

    def schedule(self, max_level: int) -> ScheduleConfig:
        """The growth schedule up to ``max_level`` (``CombConfig.max_level``)."""
        return ScheduleConfig(max_level, self.fade_images, self.stabilise_images)

    def stop_images(self, max_level: int) -> int:
        """Images seen at which training stops."""
        if self.max_images is not None:
            return self.max_images
        return total_images(self.schedule(max_level))

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TrainConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise :class:`ParameterError`."""
        return cls(**_fields_from(cls, values, "train config"))


@dataclass(frozen=True)
class RunConfig:
    """Everything a run is made of: ``model``, ``train`` and ``data``, the
    ``(identity, dataset folder)`` pairs (identities in order of first appearance)."""

    model: CombConfig
    train: TrainConfig
    data: tuple[tuple[str, str], ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", tuple((str(n), str(p)) for n, p in self.data))
        if not self.data:
            raise ParameterError("a run needs at least one dataset")
        self.train.schedule(self.model.max_level)  # checks per-level lengths

    @property
    def identities(self) -> tuple[str, ...]:
        """Identity names, in order of first appearance in ``data``."""
        return tuple(dict.fromkeys(name for name, _ in self.data))

    def to_dict(self) -> dict[str, Any]:
        return {"format": RUN_FORMAT, "version": RUN_VERSION, "model": self.model.to_dict(),
                "train": self.train.to_dict(), "data": [list(d) for d in self.data]}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], path: str | Path | None = None) -> RunConfig:
        """Inverse of :meth:`to_dict`; a wrong format or a newer version raise
        :class:`ParameterError` naming ``path``."""
        if values.get("format") != RUN_FORMAT:
            raise ParameterError(f"not a run config (format {values.get('format')!r})",
                                 path=path)
        version = values.get("version")
        if not isinstance(version, int) or version > RUN_VERSION or version < 1:
            raise ParameterError(f"run config version {version!r}; this faceswap_vfx reads up "
                                 f"to {RUN_VERSION}", path=path)
        try:
            train = dict(values["train"])
            if version == 1:
                train.setdefault("lr_scaling", "none")
            return cls(CombConfig.from_dict(values["model"]), TrainConfig.from_dict(train),
                       tuple(tuple(d) for d in values["data"]))
        except ParameterError as exc:
            raise ParameterError(str(exc), path=path) from None
        except (KeyError, TypeError, ValueError) as exc:
            raise ParameterError(f"run config is incomplete or malformed: {exc!r}",
                                 path=path) from None

    def save(self, path: str | Path) -> None:
        """Write as JSON, atomically."""
        atomic_write_text(path, json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> RunConfig:
        """Read a file written by :meth:`save`."""
        try:
            values = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise ParameterError(f"cannot read run config: {exc}", path=path) from None
        if not isinstance(values, dict):
            raise ParameterError("run config is not a JSON object", path=path)
        return cls.from_dict(values, path)
