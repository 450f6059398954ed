"""Image sequences by pattern, and frame ranges.

Patterns name one frame's file with a token for the frame number:

====================  ===================================================
``plate.####.exr``    Nuke/Shake style: one ``#`` per digit (padding 4)
``plate.%04d.exr``    printf style
``plate.$F4.exr``     Houdini style (``$F`` is unpadded)
``plate.exr``         a single file (its one frame is numbered 0)
====================  ===================================================

Frame ranges: ``1001-1100``, ``1001-1100x2`` (every second frame), ``1001`` and
comma-separated lists of these, e.g. ``1001-1010,1020,1030-1040x5``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from faceswap_vfx.errors import MissingFrameError, NoFramesError, PatternError

_TOKEN = re.compile(r"(#+)|%(0?)(\d*)d|\$F(\d*)")
_RANGE = re.compile(r"^\s*(-?\d+)\s*(?:-\s*(-?\d+)\s*(?:x\s*(\d+))?)?\s*$")


MAX_FRAMES = 1_000_000
"""Most frames a range may name (11.6 hours at 24 fps): a longer one is taken for a typo
(``1001-300001000``) and refused before it is expanded."""


def parse_frames(text: str) -> list[int]:
    """``"1001-1005x2,1010"`` -> ``[1001, 1003, 1005, 1010]`` (sorted, no repeats); more
    than :data:`MAX_FRAMES` frames raise :class:`PatternError`."""
    frames: set[int] = set()
    count = 0
    for item in str(text).split(","):
        m = _RANGE.match(item)
        if not m:
            raise PatternError(f"cannot read frame range {item.strip()!r} in {text!r}"
                               " (expected e.g. 1001-1100, 1001-1100x2 or 1001,1005)")
        first = int(m.group(1))
        last = int(m.group(2)) if m.group(2) is not None else first
        step = int(m.group(3)) if m.group(3) else 1
        if last < first or step < 1:
            raise PatternError(f"empty frame range {item.strip()!r} in {text!r}")
        count += (last - first) // step + 1
        if count > MAX_FRAMES:
            raise PatternError(f"frame range {text!r} names {count:,} frames or more; at most "
                               f"{MAX_FRAMES:,} (a typo?)")
        frames.update(range(first, last + 1, step))
    return sorted(frames)


def format_frames(frames: list[int]) -> str:
    """The inverse of :func:`parse_frames`, as compact as plain runs allow:
    ``[1, 2, 3, 5]`` -> ``"1-3,5"``."""
    runs: list[str] = []
    frames = sorted(set(frames))
    i = 0
    while i < len(frames):
        j = i
        while j + 1 < len(frames) and frames[j + 1] == frames[j] + 1:
            j += 1
        runs.append(str(frames[i]) if i == j else f"{frames[i]}-{frames[j]}")
        i = j + 1
    return ",".join(runs)


@dataclass(frozen=True)
class FramePattern:
    """A file pattern split around its frame token; ``padding`` 0 means unpadded."""

    prefix: str
    padding: int
    suffix: str
    has_token: bool = True

    @classmethod
    def parse(cls, pattern: str | os.PathLike) -> FramePattern:
        text = str(pattern)
        tokens = list(_TOKEN.finditer(Path(text).name))
        if len(tokens) > 1:
            raise PatternError("pattern has more than one frame token", path=text)
        if not tokens:
            return cls(text, 0, "", has_token=False)
        m = tokens[0]
        start = len(text) - len(Path(text).name) + m.start()
        end = len(text) - len(Path(text).name) + m.end()
        if m.group(1):
            padding = len(m.group(1))
        elif m.group(3) is not None and m.group(0).startswith("%"):
            padding = int(m.group(3) or 0)
        else:
            padding = int(m.group(4) or 0)
        return cls(text[:start], padding, text[end:])

    def path(self, frame: int) -> Path:
        """The file of ``frame`` (a single-file pattern returns its file for any frame)."""
        if not self.has_token:
            return Path(self.prefix)
        sign = "-" if frame < 0 else ""
        return Path(f"{self.prefix}{sign}{abs(frame):0{self.padding}d}{self.suffix}")

    @property
    def printf(self) -> str:
        """The pattern with a printf token (``plate.%04d.exr``), as Nuke's Read accepts."""
        if not self.has_token:
            return self.prefix
        return f"{self.prefix}%0{self.padding}d{self.suffix}" if self.padding else \
            f"{self.prefix}%d{self.suffix}"

    def frames_on_disk(self) -> list[int]:
        """Frames whose files exist, found by listing the folder once."""
        if not self.has_token:
            return [0] if Path(self.prefix).is_file() else []
        folder = Path(self.prefix).parent
        head = Path(self.prefix).name
        regex = re.compile(re.escape(head) + r"(-?\d+)" + re.escape(self.suffix) + "$")
        try:
            names = os.listdir(folder if str(folder) else ".")
        except OSError:
            return []
        frames = []
        for name in names:
            m = regex.match(name)
            if m and self.path(int(m.group(1))).name == name:
                frames.append(int(m.group(1)))
        return sorted(frames)


@dataclass
class ImageSequence:
    """A sequence of frames on disk: its pattern, the frames asked for, those missing.

    ``frames`` are the frames that exist (in order); ``missing`` those asked for (or
    inside the range found on disk) that do not.
    """

    pattern: FramePattern
    frames: list[int]
    missing: list[int] = field(default_factory=list)

    @classmethod
    def find(cls, pattern: str | os.PathLike, frames: str | list[int] | None = None
             ) -> ImageSequence:
        """Look the sequence up on disk.

        Without ``frames``: every frame found, and the gaps between the first and last
        as ``missing``. With ``frames``: those of them that exist, and the rest as
        ``missing``. Raises :class:`NoFramesError` when nothing matches.
        """
        fp = FramePattern.parse(pattern)
        on_disk = fp.frames_on_disk()
        if frames is None:
            if not on_disk:
                raise NoFramesError("no file matches the pattern", path=pattern)
            wanted = list(range(on_disk[0], on_disk[-1] + 1)) if fp.has_token else on_disk
        else:
            wanted = parse_frames(frames) if isinstance(frames, str) else sorted(set(frames))
            if not fp.has_token:
                wanted = [0]
        present = set(on_disk)
        found = [f for f in wanted if f in present]
        if not found:
            raise NoFramesError(
                "no file matches the pattern" + ("" if frames is None else
                                                f" for frames {format_frames(wanted)}"),
                path=pattern)
        return cls(fp, found, [f for f in wanted if f not in present])

    def path(self, frame: int) -> Path:
        return self.pattern.path(frame)

    def require_complete(self) -> None:
        """Raise :class:`MissingFrameError` naming the first missing frame, if any."""
        if self.missing:
            raise MissingFrameError(
                f"{len(self.missing)} frame(s) missing: {format_frames(self.missing)}",
                path=self.path(self.missing[0]), frame=self.missing[0])

    def __len__(self) -> int:
        return len(self.frames)
