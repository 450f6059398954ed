"""What a plate sequence is: frames, gaps, windows, channels, compression, colour.

Reads headers only (pixels too with ``check_pixels``), so it is quick on long shots.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from faceswap_vfx.errors import FaceswapError
from faceswap_vfx.io.image import Box, read_header, read_image
from faceswap_vfx.io.sequence import ImageSequence, format_frames

_COLOUR_HINTS = ("oiio:ColorSpace", "colorspace", "chromaticities", "acesImageContainerFlag")


def _box(spec: Any, full: bool) -> dict[str, int]:
    box = Box(spec.full_x, spec.full_y, spec.full_width, spec.full_height) if full else \
        Box(spec.x, spec.y, spec.width, spec.height)
    return dataclasses.asdict(box)


def describe_part(spec: Any) -> dict[str, Any]:
    """A JSON-ready summary of one part's header (an ``oiio.ImageSpec``)."""
    formats = [str(f) for f in spec.channelformats] or [str(spec.format)] * spec.nchannels
    attrs = {a.name: a.value for a in spec.extra_attribs}
    return {
        "name": attrs.get("name"),
        "resolution": [spec.full_width, spec.full_height],
        "display_window": _box(spec, full=True),
        "data_window": _box(spec, full=False),
        "channels": [{"name": n, "type": t} for n, t in zip(spec.channelnames, formats,
                                                              strict=True)],
        "compression": attrs.get("compression"),
        "tiled": bool(spec.tile_width),
        "pixel_aspect": attrs.get("PixelAspectRatio", 1.0),
        "colour_hints": {k: _plain(attrs[k]) for k in _COLOUR_HINTS if k in attrs},
    }


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def describe_sequence(pattern: str | os.PathLike, frames: str | None = None, *,
                      plate_colorspace: str = "scene_linear", check_pixels: bool = False
                      ) -> dict[str, Any]:
    """Summarise a sequence: frame range, missing and unreadable frames, the parts of the
    first readable frame, and the frames whose header differs from it."""
    seq = ImageSequence.find(pattern, frames)
    unreadable: list[dict[str, Any]] = []
    first: list[dict[str, Any]] | None = None
    differs: list[int] = []
    for frame in seq.frames:
        path = seq.path(frame)
        try:
            parts = [describe_part(s) for s in read_header(path, frame)]
            if check_pixels:
                read_image(path, frame)
        except FaceswapError as exc:
            unreadable.append({"frame": frame, "path": str(path), "error": str(exc)})
            continue
        if first is None:
            first = parts
        elif _layout(parts) != _layout(first):
            differs.append(frame)
    return {
        "pattern": str(pattern),
        "printf_pattern": seq.pattern.printf,
        "frames": format_frames(seq.frames),
        "first_frame": seq.frames[0],
        "last_frame": seq.frames[-1],
        "frame_count": len(seq.frames),
        "missing": seq.missing,
        "unreadable": unreadable,
        "layout_differs": differs,
        "plate_colorspace": plate_colorspace,
        "parts": first or [],
    }


def _layout(parts: list[dict[str, Any]]) -> list[Any]:
    return [(p["display_window"], p["data_window"], p["channels"]) for p in parts]


def format_description(info: dict[str, Any]) -> str:
    """The summary as text for a person."""
    lines = [
        f"sequence     {info['pattern']}",
        f"frames       {info['frames']}  ({info['frame_count']} frames, "
        f"{info['first_frame']}-{info['last_frame']})",
        f"missing      {format_frames(info['missing']) or 'none'}",
    ]
    for bad in info["unreadable"]:
        lines.append(f"UNREADABLE   frame {bad['frame']}: {bad['error']}")
    if info["layout_differs"]:
        lines.append(f"DIFFERENT    windows or channels change on frames "
                     f"{format_frames(info['layout_differs'])}")
    lines.append(f"colour space {info['plate_colorspace']} (plate_colorspace parameter)")
    for i, part in enumerate(info["parts"]):
        dw, fw = part["data_window"], part["display_window"]
        title = f"part {i}" + (f" '{part['name']}'" if part["name"] else "")
        lines += [
            f"{title}:",
            f"  resolution     {fw['width']}x{fw['height']}  (display window origin "
            f"{fw['x']},{fw['y']})",
            f"  data window    {dw['width']}x{dw['height']} at {dw['x']},{dw['y']}"
            + ("  (differs from display window)" if dw != fw else ""),
            f"  compression    {part['compression'] or 'none'}"
            + ("  tiled" if part["tiled"] else ""),
            "  channels       " + ", ".join(f"{c['name']} ({c['type']})"
                                           for c in part["channels"]),
        ]
        if part["colour_hints"]:
            lines.append("  colour hints   " + ", ".join(f"{k}={v}" for k, v in
                                                         part["colour_hints"].items()))
    return "\n".join(lines)
