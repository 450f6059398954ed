"""The comb network's one frozen configuration (saved as JSON beside its checkpoints).

Levels follow Table 1 of Naruniec et al. 2020: level ``L`` works at ``4 * 2**L`` pixels,
level 0 is 4x4, level 8 is 1024x1024. Channels at width 1.0 are Table 1's:

=====  ====  ====  ====  ====  ====  ====  ====  ====  ====
level  0     1     2     3     4     5     6     7     8
=====  ====  ====  ====  ====  ====  ====  ====  ====  ====
px     4     8     16    32    64    128   256   512   1024
ch     512   512   512   512   256   128   64    32    16
=====  ====  ====  ====  ====  ====  ====  ====  ====  ====

The channel count of a level does not depend on ``max_resolution``: a 256 px model is
levels 0..6 of the 1024 px one.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from faceswap_vfx.errors import ParameterError

MAX_LEVEL = 8
"""Level of 1024 px, the largest Table 1 describes."""


def resolution_of(level: int) -> int:
    """Side in pixels of a level: ``4 * 2**level``."""
    return 4 << level


def table1_channels(level: int) -> int:
    """Feature channels at a level at width 1.0: 512 up to level 3, then halving to 16."""
    return min(512, 16 << (MAX_LEVEL - level))


@dataclass(frozen=True)
class CombConfig:
    """Shape of a comb network.

    ``max_resolution``: side of the final level in px, a power of two in 4..1024.
    ``width``: channel multiplier; 1.0 is Table 1 (about 23.1M parameters per side).
    ``latent``: channels of the 1x1 bottleneck (Table 1: 512); independent of ``width``.
    ``split_level``: decoder levels ``<= split_level`` form the trunk shared by every
    identity, later levels are one head per identity. -1 splits right after the latent.
    The appendix text chooses 1, the Fig. 12 caption says 2; the default is 1.
    ``min_channels``: floor on every level's channels when ``width`` is small.
    """

    max_resolution: int = 1024
    width: float = 1.0
    latent: int = 512
    split_level: int = 1
    min_channels: int = 4

    def __post_init__(self) -> None:
        def bad(name: str, why: str) -> ParameterError:
            return ParameterError(f"comb config {name}={getattr(self, name)!r} {why}")

        for name in ("max_resolution", "latent", "split_level", "min_channels"):
            if not isinstance(getattr(self, name), int) or isinstance(getattr(self, name), bool):
                raise bad(name, "is not an int")
        r = self.max_resolution
        if r < 4 or r > resolution_of(MAX_LEVEL) or r & (r - 1):
            raise bad("max_resolution", "is not a power of two in 4..1024")
        if (isinstance(self.width, bool) or not isinstance(self.width, (int, float))
                or not math.isfinite(self.width) or self.width <= 0):
            raise bad("width", "is not a positive number")
        if self.latent < 1:
            raise bad("latent", "is below 1")
        if self.min_channels < 1:
            raise bad("min_channels", "is below 1")
        if not -1 <= self.split_level < self.max_level:
            raise bad("split_level", f"is not in -1..{self.max_level - 1} (at least one decoder "
                      f"level must be per identity at max_resolution {r})")

    @property
    def max_level(self) -> int:
        """Level of ``max_resolution`` (0 for 4 px ... 8 for 1024 px)."""
        return self.max_resolution.bit_length() - 3

    def channels(self, level: int) -> int:
        """Feature channels of ``level``: Table 1's times ``width``, at least ``min_channels``."""
        if not 0 <= level <= self.max_level:
            raise ValueError(f"level {level} outside 0..{self.max_level}")
        return max(self.min_channels, round(table1_channels(level) * self.width))

    def is_shared(self, level: int) -> bool:
        """Whether decoder ``level`` belongs to the shared trunk (else to the heads)."""
        return level <= self.split_level

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict (:func:`dataclasses.asdict`)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> CombConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise :class:`ParameterError`."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ParameterError(f"comb config: unknown key(s) {', '.join(unknown)}")
        return cls(**values)
