"""Detects a training run that has gone wrong, so that it stops with a named error instead of
training hours of flat colour.

Three signs, checked after every step:

- a loss that is not finite (the weights are checked too before each checkpoint);
- a loss that stays above ``factor`` times its best for ``patience_images`` images. The loss
  followed is an exponential moving average of the step losses (about 20 steps long), and its
  best is taken since the current level began (a new level starts from the loss it has when
  it begins: higher levels have higher losses);
- a collapsed network: an output that no longer follows its input
  (:func:`~faceswap_vfx.train.loop.output_follows`, its moving average, below
  ``MIN_FOLLOWS``) for ``patience_images`` images, once the run has seen
  ``patience_images``. A network that gives the same flat colour (or saturated squares)
  whatever it is shown has a loss near its untrained one, which the second sign cannot tell
  from slow learning.

While the second or third sign is on, the loop writes no checkpoint, so the newest
checkpoint on disk is the last one written before it came on: the error names it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from faceswap_vfx.errors import TrainingDivergedError

EMA_STEPS = 20
"""Length in steps of the moving averages that are watched."""
MIN_FOLLOWS = 0.05
"""``output_follows`` under which the network is taken to have collapsed."""


def non_finite_parameters(model: torch.nn.Module) -> list[str]:
    """Names of ``model``'s parameters holding a NaN or an infinity."""
    return [name for name, p in model.named_parameters()
            if not bool(torch.isfinite(p.detach()).all())]


@dataclass
class DivergenceWatch:
    """The state of the watch over one run; ``factor`` <= 0 turns the loss rule off."""

    factor: float = 2.0
    patience_images: int = 20_000
    level: int = -1
    ema: float = math.nan
    best: float = math.nan
    above_since: int | None = None
    follows: float = math.nan
    flat_since: int | None = None
    first_images: int | None = None

    @property
    def suspect(self) -> bool:
        """Whether a sign is on now (checkpoints wait)."""
        return self.above_since is not None or self.flat_since is not None

    def observe(self, images_seen: int, level: int, loss: float, follows: float,
                last_good: object | None) -> None:
        """After a step that brought the run to ``images_seen``, with the step's ``loss`` and
        output ``follows``: raise :class:`TrainingDivergedError` (naming ``last_good``, the
        newest checkpoint written) if the run has diverged."""
        self._watch_follows(images_seen, follows, last_good)
        if not math.isfinite(loss):
            raise TrainingDivergedError(
                f"the loss is {loss} at {images_seen} images (level {level}); the network's "
                f"weights are no longer usable. Last good checkpoint: {last_good}; resume it "
                f"with a lower --lr, or start again")
        if level != self.level:
            self.level, self.ema, self.best, self.above_since = level, loss, loss, None
            return
        self.ema += (loss - self.ema) / EMA_STEPS
        self.best = min(self.best, self.ema)
        high = self.factor > 0 and self.ema > self.factor * self.best
        self.above_since = self._lasting(high, self.above_since, images_seen, last_good,
                                         f"the loss has stayed above {self.factor:g}x its "
                                         f"best at level {level} ({self.ema:.4f} against "
                                         f"{self.best:.4f})")

    def _watch_follows(self, images_seen: int, follows: float, last_good: object | None
                       ) -> None:
        if not math.isfinite(follows):  # not measured (a batch of one)
            return
        if self.first_images is None:
            self.first_images, self.follows = images_seen, follows
        self.follows += (follows - self.follows) / EMA_STEPS
        flat = (self.factor > 0 and self.follows < MIN_FOLLOWS
                and images_seen - self.first_images >= self.patience_images)
        self.flat_since = self._lasting(flat, self.flat_since, images_seen, last_good,
                                        f"the network has collapsed to one output (flat "
                                        f"colour; its output follows its input "
                                        f"{self.follows:.3f} as much as the targets vary)")

    def _lasting(self, on: bool, since: int | None, images_seen: int, last_good: object | None,
                 what: str) -> int | None:
        """The images seen since a sign came on (None: off); raises once it has lasted
        ``patience_images``."""
        if not on:
            return None
        since = images_seen if since is None else since
        if images_seen - since >= self.patience_images:
            raise TrainingDivergedError(
                f"{what} since {since} images: training has diverged. Last good checkpoint: "
                f"{last_good}; resume it with a lower --lr, or start again")
        return since
