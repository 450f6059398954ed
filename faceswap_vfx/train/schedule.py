"""The progressive growth schedule: a pure function of the number of training images seen.

Level 0 is trained (stabilised) for ``stabilise_images(0)`` images. Every later level
``L`` first fades in for ``fade_images(L)`` images, ``alpha`` rising linearly from 0 to 1,
then stabilises at ``alpha = 1`` for ``stabilise_images(L)`` images. After the last level's
stabilise phase the schedule stays at ``(max_level, 1.0)``. Because it depends on
``images_seen`` alone, a resumed run picks up the same ``(level, alpha)`` it stopped at.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from faceswap_vfx.errors import ParameterError
from faceswap_vfx.model.config import MAX_LEVEL

PhaseLengths = int | tuple[int, ...]


@dataclass(frozen=True)
class ScheduleConfig:
    """Phase lengths in images, one int for every level or a tuple indexed by level.

    ``max_level``: last level (``CombConfig.max_level``). ``fade_images``: images over which
    a new level fades in; level 0 has no fade (a per-level tuple must start with 0).
    ``stabilise_images``: images at ``alpha = 1`` after the fade. Defaults are those of
    progressive GANs (Karras et al. 2018): 600k + 600k images per level.
    """

    max_level: int
    fade_images: PhaseLengths = 600_000
    stabilise_images: PhaseLengths = 600_000

    def __post_init__(self) -> None:
        if (not isinstance(self.max_level, int) or isinstance(self.max_level, bool)
                or not 0 <= self.max_level <= MAX_LEVEL):
            raise ParameterError(f"schedule max_level={self.max_level!r} is not in 0..{MAX_LEVEL}")
        for name in ("fade_images", "stabilise_images"):
            value = getattr(self, name)
            if isinstance(value, list):  # from JSON
                value = tuple(value)
                object.__setattr__(self, name, value)
            values = value if isinstance(value, tuple) else (value,)
            if isinstance(value, tuple) and len(value) != self.max_level + 1:
                raise ParameterError(f"schedule {name} has {len(value)} entries, "
                                     f"expected one per level 0..{self.max_level}")
            if any(not isinstance(v, int) or isinstance(v, bool) or v < 0 for v in values):
                raise ParameterError(f"schedule {name}={value!r} is not whole numbers >= 0")
        if isinstance(self.fade_images, tuple) and self.fade_images[0] != 0:
            raise ParameterError("schedule fade_images[0] must be 0: level 0 has no fade")

    def fade(self, level: int) -> int:
        """Images of ``level``'s fade phase (0 for level 0)."""
        if level == 0:
            return 0
        v = self.fade_images
        return v[level] if isinstance(v, tuple) else v

    def stabilise(self, level: int) -> int:
        """Images of ``level``'s stabilise phase."""
        v = self.stabilise_images
        return v[level] if isinstance(v, tuple) else v

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dict (tuples become lists)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> ScheduleConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise :class:`ParameterError`."""
        unknown = sorted(set(values) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ParameterError(f"schedule config: unknown key(s) {', '.join(unknown)}")
        return cls(**values)


def level_start(level: int, cfg: ScheduleConfig) -> int:
    """Images seen when ``level`` begins (its fade starts; level 0 begins at 0)."""
    if not 0 <= level <= cfg.max_level:
        raise ValueError(f"level {level} outside 0..{cfg.max_level}")
    return sum(cfg.fade(lv) + cfg.stabilise(lv) for lv in range(level))


def total_images(cfg: ScheduleConfig) -> int:
    """Images seen when the last level's stabilise phase ends."""
    return level_start(cfg.max_level, cfg) + cfg.fade(cfg.max_level) + cfg.stabilise(cfg.max_level)


def schedule(images_seen: int, cfg: ScheduleConfig) -> tuple[int, float]:
    """``(level, alpha)`` to train with after ``images_seen`` images (``alpha`` in [0, 1]).

    Within a fade phase ``alpha = (images_seen - level_start) / fade``; elsewhere 1.0.
    """
    if images_seen < 0:
        raise ValueError(f"images_seen {images_seen} is negative")
    start = 0
    for level in range(cfg.max_level + 1):
        fade, stabilise = cfg.fade(level), cfg.stabilise(level)
        if images_seen < start + fade:
            return level, (images_seen - start) / fade
        if images_seen < start + fade + stabilise or level == cfg.max_level:
            return level, 1.0
        start += fade + stabilise
    raise AssertionError("unreachable")


def images_at(level: int, alpha: float, cfg: ScheduleConfig) -> int:
    """First ``images_seen`` at which :func:`schedule` reaches ``level`` with at least ``alpha``.

    ``alpha = 0`` is the start of the level, ``alpha = 1`` the start of its stabilise phase.
    For ``n`` inside a fade phase ``images_at(*schedule(n, cfg), cfg) == n``.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha {alpha} outside [0, 1]")
    fade = cfg.fade(level)
    if fade == 0:
        return level_start(level, cfg)
    k = min(fade, math.ceil(alpha * fade))  # then exact in schedule()'s own float arithmetic
    while k > 0 and (k - 1) / fade >= alpha:
        k -= 1
    while k < fade and k / fade < alpha:
        k += 1
    return level_start(level, cfg) + k
