"""Read and write images (EXR first; PNG, TIFF, JPEG too) through OpenImageIO, EXR pixels
through OpenEXR (:mod:`faceswap_vfx.io.exr`, several times faster) where it gives the same.

An :class:`Image` is a list of :class:`ImagePart` (EXR multi-part files have several;
other formats one). A part keeps every channel in its native pixel type (half ->
float16, float -> float32, uint -> uint32, 8/16-bit files -> uint8/uint16), its data
window apart from its display window, and every header attribute with its type, so a
frame read and written back unchanged is bit-identical, channels and metadata included.

Pixel arrays cover the data window, row 0 at the top (array origin top-left).
Writes are atomic (:mod:`faceswap_vfx.io.atomic`).

``backend`` (reads and writes): ``"auto"`` EXR pixels through OpenEXR, OpenImageIO where
:mod:`~faceswap_vfx.io.exr` cannot give the same result (logged at debug level);
``"openexr"`` OpenEXR or a :class:`PlateReadError`/:class:`PlateWriteError` saying why
(tests, benchmarks); ``"oiio"`` OpenImageIO alone. Other formats are OpenImageIO's.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import OpenImageIO as oiio

from faceswap_vfx.errors import ChannelError, MissingFrameError, PlateReadError, PlateWriteError
from faceswap_vfx.io import exr
from faceswap_vfx.io.atomic import atomic_path
from faceswap_vfx.io.exr_chunks import MAGIC as EXR_MAGIC_BYTES

log = logging.getLogger(__name__)

Backend = Literal["auto", "openexr", "oiio"]
_BACKENDS = ("auto", "openexr", "oiio")

_DTYPES = {"half": np.float16, "float": np.float32, "double": np.float64,
           "uint8": np.uint8, "uint16": np.uint16, "uint": np.uint32, "int": np.int32}
_TYPEDESC = {np.dtype(v): k for k, v in _DTYPES.items()}
# Integer vector types: OpenImageIO names them (vector2i[2] is a box2i) but cannot parse
# the names back; aggregate and semantics of each.
_INT_VECTORS = {"vector2i": (oiio.AGGREGATE.VEC2, oiio.VECSEMANTICS.NOXFORM),
                "vector3i": (oiio.AGGREGATE.VEC3, oiio.VECSEMANTICS.NOXFORM),
                "vectori": (oiio.AGGREGATE.VEC3, oiio.VECSEMANTICS.VECTOR)}

# Header attributes that describe the reader's view rather than the file: not written back.
_READ_ONLY_PREFIXES = ("oiio:",)
_SPEC_FIELDS = ("x", "y", "width", "height", "full_x", "full_y", "full_width", "full_height",
                "tile_width", "tile_height")


@dataclass(frozen=True)
class Box:
    """An integer pixel rectangle: top-left corner (x right, y down) and size."""

    x: int
    y: int
    width: int
    height: int

    def __str__(self) -> str:
        return f"{self.width}x{self.height}+{self.x}+{self.y}"


@dataclass(frozen=True)
class Attribute:
    """One header attribute: name, OpenImageIO type name (``"float"``, ``"matrix"``,
    ``"string"``, ``"rational2i"``, ...) and value."""

    name: str
    type: str
    value: Any


@dataclass
class ImagePart:
    """One part (subimage) of an image.

    ``channels`` maps each channel name, in file order, to a (H, W) array over the data
    window. ``layout`` keeps the file's tiling and other structural fields.
    """

    channels: dict[str, np.ndarray]
    data_window: Box
    display_window: Box
    attributes: list[Attribute] = field(default_factory=list)
    tile: tuple[int, int] = (0, 0)
    name: str | None = None

    # --- channels ---------------------------------------------------------------------
    def channel(self, name: str, *, path: str | None = None, frame: int | None = None
                ) -> np.ndarray:
        """One channel's (H, W) array; :class:`ChannelError` names what exists."""
        try:
            return self.channels[name]
        except KeyError:
            raise ChannelError(f"no channel {name!r}; the file has "
                               f"{', '.join(self.channels)}", path=path, frame=frame) from None

    def rgb(self, names: tuple[str, str, str] = ("R", "G", "B"), *, path: str | None = None,
            frame: int | None = None, region: tuple[slice, slice] | None = None,
            planar: bool = False) -> np.ndarray:
        """The three colour channels as float32 (H, W, 3) over the data window, or over
        ``region`` (row and column slices of it) alone; (3, H, W) with ``planar``.

        Integer channels of 8/16-bit files are scaled to [0, 1]; float values pass
        unchanged (scene-linear values above 1, negatives, NaN and Inf included).
        """
        region = region or (slice(None), slice(None))
        planes = [self.channel(n, path=path, frame=frame)[region] for n in names]
        size = planes[0].shape
        out = np.empty((len(planes), *size) if planar else (*size, len(planes)), np.float32)
        for i, plane in enumerate(planes):  # one pass each, straight into place
            if plane.dtype.kind == "u" and plane.dtype.itemsize <= 2:
                plane = _as_float(plane)
            np.copyto(out[i] if planar else out[..., i], plane, casting="unsafe")
        return out

    def display_rgb(self, names: tuple[str, str, str] = ("R", "G", "B"), fill: float = 0.0
                    ) -> np.ndarray:
        """The colour channels over the display window, float32 (H, W, 3); pixels the
        data window does not cover are ``fill``."""
        return self.pixels_over(self.display_window, names, fill)

    def pixels_over(self, box: Box, names: tuple[str, ...], fill: float = 0.0, *,
                    path: str | None = None, frame: int | None = None) -> np.ndarray:
        """Channels ``names`` as float32 (box.height, box.width, len(names)) over ``box``
        (pixel coordinates of the file, like the windows); pixels outside the data window
        are ``fill`` (EXR's convention: 0). Integer channels are scaled to [0, 1]."""
        dw = self.data_window
        out = np.full((box.height, box.width, len(names)), fill, np.float32)
        x0, y0 = max(dw.x, box.x), max(dw.y, box.y)
        x1 = min(dw.x + dw.width, box.x + box.width)
        y1 = min(dw.y + dw.height, box.y + box.height)
        src = np.s_[y0 - dw.y:y1 - dw.y, x0 - dw.x:x1 - dw.x]
        for i, name in enumerate(names):
            channel = self.channel(name, path=path, frame=frame)
            if x1 > x0 and y1 > y0:
                out[y0 - box.y:y1 - box.y, x0 - box.x:x1 - box.x, i] = _as_float(channel[src])
        return out

    def attribute(self, name: str, default: Any = None) -> Any:
        for a in self.attributes:
            if a.name == name:
                return a.value
        return default

    def set_attribute(self, name: str, type_name: str, value: Any) -> None:
        """Add or replace a header attribute."""
        self.attributes = [a for a in self.attributes if a.name != name]
        self.attributes.append(Attribute(name, type_name, value))

    @property
    def shape(self) -> tuple[int, int]:
        return self.data_window.height, self.data_window.width


@dataclass
class Image:
    """An image file's content: one or more parts."""

    parts: list[ImagePart]

    @property
    def part(self) -> ImagePart:
        """The first part (the only one outside multi-part EXR)."""
        return self.parts[0]

    @classmethod
    def from_array(cls, pixels: np.ndarray, channels: tuple[str, ...] = ("R", "G", "B"),
                   dtype: np.dtype | type | None = None,
                   attributes: dict[str, Any] | None = None) -> Image:
        """A one-part image from an (H, W, C) array.

        ``dtype`` is the pixel type to store (default: the array's). Float values stored
        as uint8/uint16 are clipped to [0, 1] and scaled. ``attributes`` become header
        attributes, their types inferred (str, int, float, float tuples).
        """
        if pixels.ndim == 2:
            pixels = pixels[..., None]
        if pixels.ndim != 3 or pixels.shape[2] != len(channels):
            raise ValueError(f"pixels of shape {pixels.shape} do not match channels {channels}")
        dtype = np.dtype(dtype or pixels.dtype)
        h, w = pixels.shape[:2]
        chans = {n: _store(pixels[..., i], dtype) for i, n in enumerate(channels)}
        part = ImagePart(chans, Box(0, 0, w, h), Box(0, 0, w, h))
        for name, value in (attributes or {}).items():
            part.set_attribute(name, _infer_type(value), value)
        return cls([part])


# --- reading ----------------------------------------------------------------------------
def read_header(path: str | os.PathLike, frame: int | None = None) -> list[oiio.ImageSpec]:
    """The header of every part, without reading pixels."""
    inp = _open(path, frame)
    try:
        return _specs(inp)
    finally:
        inp.close()


def read_image(path: str | os.PathLike, frame: int | None = None, *,
               backend: Backend = "auto") -> Image:
    """Read every part, channel and attribute of an image file.

    Raises :class:`MissingFrameError` for a file that is not there and
    :class:`PlateReadError` for one that cannot be read (truncated, corrupt, deep data).
    """
    inp = _open(path, frame)
    try:
        specs = _specs(inp)
        fast = _exr_pixels(inp, specs, path, frame, backend)
        if fast is not None:
            return Image([_part_of(spec, channels, len(channels))
                          for spec, channels in zip(specs, fast, strict=True)])
        parts = []
        for index in range(len(specs)):
            inp.seek_subimage(index, 0)
            parts.append(_read_part(inp, str(path), frame))
    finally:
        inp.close()
    return Image(parts)


def read_channels(path: str | os.PathLike, names: Sequence[str], frame: int | None = None,
                  *, backend: Backend = "auto") -> ImagePart:
    """Only the channels ``names`` of the first part, in the order asked, with the part's
    windows and attributes. Through OpenImageIO, skips converting and copying the others
    (EXR still decompresses whole chunks); OpenEXR decodes all the channels of a
    single-part EXR and is faster still. Raises what :func:`read_image` raises, and
    :class:`ChannelError` naming the channels the file has."""
    inp = _open(path, frame)
    try:
        spec = oiio.ImageSpec(inp.spec())
        if spec.deep:
            raise PlateReadError("deep images are not supported", path=path, frame=frame)
        have = list(spec.channelnames)
        missing = [n for n in names if n not in have]
        if missing:
            raise ChannelError(f"no channel {missing[0]!r}; the file has {', '.join(have)}",
                               path=path, frame=frame)
        fast = _exr_pixels(inp, [spec], path, frame, backend)
        if fast is not None:
            return _part_of(spec, {n: fast[0][n] for n in names}, len(have))
        formats = [str(f) for f in spec.channelformats] or [str(spec.format)] * len(have)
        wanted = sorted({have.index(n) for n in names})
        found: dict[str, np.ndarray] = {}
        start = 0
        while start < len(wanted):  # one read per run of adjacent channels of one type
            end = start + 1
            while (end < len(wanted) and wanted[end] == wanted[end - 1] + 1
                   and formats[wanted[end]] == formats[wanted[start]]):
                end += 1
            lo, hi = wanted[start], wanted[end - 1] + 1
            pixels = _read_run(inp, spec, lo, hi, formats[lo], str(path), frame)
            for i in range(lo, hi):
                found[have[i]] = np.ascontiguousarray(pixels[:, :, i - lo])
            start = end
        part = _part_of(spec, {n: found[n] for n in names}, len(have))
    finally:
        inp.close()
    return part


def set_codec_threads(threads: int) -> None:
    """Threads OpenImageIO and OpenEXR use to decode and encode each file (0: one per
    core, their default). Process-wide."""
    oiio.attribute("threads", int(threads))
    oiio.attribute("exr_threads", int(threads))
    exr.set_threads(int(threads))


def _after_fork_in_child() -> None:
    """A forked child (a DataLoader worker, a pool of the caller's) inherits OpenEXR's
    thread pool without its threads, and waiting on them hangs: the child reads through
    OpenImageIO alone. (OpenImageIO's own writes hang in a forked child too, as they
    always have: write from the parent, or from a spawned process.)"""
    exr.turn_off("a forked child: OpenEXR's worker threads stayed in the parent")


os.register_at_fork(after_in_child=_after_fork_in_child)


def _specs(inp: oiio.ImageInput) -> list[oiio.ImageSpec]:
    """The header of every part of an open file."""
    specs = []
    index = 0
    while inp.seek_subimage(index, 0):
        specs.append(oiio.ImageSpec(inp.spec()))
        index += 1
    return specs


def _exr_pixels(inp: oiio.ImageInput, specs: list[oiio.ImageSpec], path: str | os.PathLike,
                frame: int | None, backend: Backend) -> list[dict[str, np.ndarray]] | None:
    """The channels of the parts ``specs`` through OpenEXR (:func:`exr.read`), or None
    where OpenImageIO is to read them."""
    if _check_backend(backend) == "oiio":
        return None
    try:
        if inp.format_name() != "openexr":
            raise exr.Unsupported(f"{inp.format_name()} file")
        return exr.read(path, specs)
    except exr.Unsupported as exc:
        _fall_back(exc, backend, PlateReadError, path, frame)
        return None


def _fall_back(exc: exr.Unsupported, backend: Backend,
               error: type[PlateReadError] | type[PlateWriteError], path: str | os.PathLike,
               frame: int | None) -> None:
    """Log that OpenImageIO does the work, or raise ``error`` if OpenEXR was asked for."""
    if backend == "openexr":
        raise error(f"not through OpenEXR: {exc}", path=path, frame=frame) from None
    log.debug("%s: through OpenImageIO, %s", path, exc)


def _check_backend(backend: str) -> str:
    if backend not in _BACKENDS:
        raise ValueError(f"backend {backend!r} is not one of {', '.join(_BACKENDS)}")
    return backend


def _open(path: str | os.PathLike, frame: int | None) -> oiio.ImageInput:
    if not Path(path).is_file():
        raise MissingFrameError("file not found", path=path, frame=frame)
    try:
        with open(path, "rb") as f:  # a permission problem is not a corrupt file
            magic = f.read(4)
    except OSError as exc:
        raise PlateReadError(f"cannot open the file: {exc.strerror}", path=path,
                             frame=frame) from None
    if Path(path).suffix.lower() == ".exr" and magic != EXR_MAGIC_BYTES:
        raise PlateReadError("the file is named .exr but is not an OpenEXR file (another "
                             "format renamed?)", path=path, frame=frame)
    inp = oiio.ImageInput.open(str(path))
    if inp is None:
        detail = oiio.geterror().strip() or "unknown reason"
        raise PlateReadError(f"cannot open image, the file is corrupt or truncated: {detail}",
                             path=path, frame=frame)
    return inp


def _read_part(inp: oiio.ImageInput, path: str, frame: int | None) -> ImagePart:
    spec = inp.spec()
    if spec.deep:
        raise PlateReadError("deep images are not supported", path=path, frame=frame)
    names = list(spec.channelnames)
    formats = [str(f) for f in spec.channelformats] or [str(spec.format)] * len(names)
    channels: dict[str, np.ndarray] = {}
    if len(set(formats)) > 1 and set(formats) <= {"half", "float"}:
        # one read (EXR decodes each chunk once) as float, half channels back to half: exact
        pixels = _read_run(inp, spec, 0, len(names), "float", path, frame)
        for i, (name, fmt) in enumerate(zip(names, formats, strict=True)):
            channels[name] = pixels[:, :, i].astype(_DTYPES[fmt])
        return _part_of(spec, channels, len(names))
    start = 0
    while start < len(names):  # one read per run of channels sharing a pixel type
        end = start
        while end < len(names) and formats[end] == formats[start]:
            end += 1
        pixels = _read_run(inp, spec, start, end, formats[start], path, frame)
        for i in range(start, end):
            channels[names[i]] = np.ascontiguousarray(pixels[:, :, i - start])
        start = end
    return _part_of(spec, channels, len(names))


def _read_run(inp: oiio.ImageInput, spec: oiio.ImageSpec, begin: int, end: int, fmt: str,
              path: str, frame: int | None) -> np.ndarray:
    """Channels ``begin:end`` of the current part, (H, W, end - begin) in ``fmt``."""
    fmt = fmt if fmt in _DTYPES else "float"
    pixels = inp.read_image(inp.current_subimage(), 0, begin, end, fmt)
    if pixels is None or not isinstance(pixels, np.ndarray):
        detail = inp.geterror().strip() or "unknown reason"
        raise PlateReadError(f"cannot read pixels, the file is corrupt or truncated: "
                             f"{detail}", path=path, frame=frame)
    return pixels.reshape(spec.height, spec.width, end - begin)


def _part_of(spec: oiio.ImageSpec, channels: dict[str, np.ndarray], n_channels: int
             ) -> ImagePart:
    attributes = [Attribute(a.name, str(a.type), a.value) for a in spec.extra_attribs]
    return ImagePart(
        channels=channels,
        data_window=Box(spec.x, spec.y, spec.width, spec.height),
        display_window=Box(spec.full_x, spec.full_y, spec.full_width, spec.full_height),
        attributes=attributes,
        tile=(spec.tile_width, spec.tile_height),
        name=spec.getattribute("name") if n_channels else None,
    )


# --- writing ----------------------------------------------------------------------------
def write_image(image: Image, path: str | os.PathLike, frame: int | None = None, *,
                backend: Backend = "auto") -> None:
    """Write ``image`` atomically (temporary file beside ``path``, then rename).

    The format follows the extension. Raises :class:`PlateWriteError` (or its subclass
    :class:`~faceswap_vfx.errors.OutputNotWritableError`) naming the file and frame; a
    failed write leaves whatever was at ``path`` untouched.
    """
    _check_backend(backend)
    if not image.parts:
        raise PlateWriteError("image has no parts to write", path=path, frame=frame)
    with atomic_path(path, frame=frame) as tmp:
        out = oiio.ImageOutput.create(str(path))
        if out is None:
            raise PlateWriteError(f"no writer for this file type: {oiio.geterror().strip()}",
                                  path=path, frame=frame)
        specs = [_spec_of(p, path, frame) for p in image.parts]
        if len(specs) > 1 and not out.supports("multiimage"):
            raise PlateWriteError("this file type holds one part only", path=path, frame=frame)
        if len({spec.tile_width > 0 for spec in specs}) > 1:  # OpenImageIO would abort
            raise PlateWriteError("tiled and scanline parts cannot share a file",
                                  path=path, frame=frame)
        if not _wrote_exr(out, image, specs, tmp, path, frame, backend):
            _write_oiio(out, image, specs, tmp, path, frame)


def _wrote_exr(out: oiio.ImageOutput, image: Image, specs: list[oiio.ImageSpec], tmp: Path,
               path: str | os.PathLike, frame: int | None, backend: Backend) -> bool:
    """Write ``tmp`` through OpenEXR (:func:`exr.write`); False where OpenImageIO is to."""
    if backend == "oiio":
        return False
    try:
        if out.format_name() != "openexr":
            raise exr.Unsupported(f"{out.format_name()} file")
        exr.write(tmp, specs, [part.channels for part in image.parts],
                  [part.attributes for part in image.parts])
        return True
    except exr.Unsupported as exc:
        _fall_back(exc, backend, PlateWriteError, path, frame)
        return False


def _write_oiio(out: oiio.ImageOutput, image: Image, specs: list[oiio.ImageSpec], tmp: Path,
                path: str | os.PathLike, frame: int | None) -> None:
    ok = out.open(str(tmp), tuple(specs) if len(specs) > 1 else specs[0])
    try:
        for i, (part, spec) in enumerate(zip(image.parts, specs, strict=True)):
            if i:
                ok = ok and out.open(str(tmp), spec, "AppendSubimage")
            ok = ok and out.write_image(_interleave(part))
    finally:
        ok = out.close() and ok
    if not ok:
        raise PlateWriteError(f"cannot write image: {out.geterror().strip()}",
                              path=path, frame=frame)


def _spec_of(part: ImagePart, path: str | os.PathLike, frame: int | None) -> oiio.ImageSpec:
    names = list(part.channels)
    if not names:
        raise PlateWriteError("image part has no channels", path=path, frame=frame)
    dtypes = [np.dtype(part.channels[n].dtype) for n in names]
    unknown = [str(d) for d in dtypes if d not in _TYPEDESC]
    if unknown:
        raise PlateWriteError(f"unsupported pixel type {unknown[0]}", path=path, frame=frame)
    formats = [_TYPEDESC[d] for d in dtypes]
    h, w = part.shape
    for n in names:
        if part.channels[n].shape != (h, w):
            raise PlateWriteError(f"channel {n!r} is {part.channels[n].shape}, the data window "
                                  f"is {(h, w)}", path=path, frame=frame)
    spec = oiio.ImageSpec(w, h, len(names), formats[0])
    spec.channelnames = tuple(names)
    if len(set(formats)) > 1:
        spec.channelformats = tuple(oiio.TypeDesc(f) for f in formats)
    dw, fw = part.data_window, part.display_window
    spec.x, spec.y, spec.full_x, spec.full_y = dw.x, dw.y, fw.x, fw.y
    spec.full_width, spec.full_height = fw.width, fw.height
    spec.tile_width, spec.tile_height = part.tile
    for a in part.attributes:
        if not a.name.startswith(_READ_ONLY_PREFIXES):
            spec.attribute(a.name, _typedesc(a.type), a.value)
    if part.name and "name" not in {a.name for a in part.attributes}:
        spec.attribute("name", part.name)
    return spec


def _typedesc(name: str) -> oiio.TypeDesc:
    """The OpenImageIO type called ``name``, integer vectors (:data:`_INT_VECTORS`) too."""
    parsed = oiio.TypeDesc(name)
    base, _, count = name.partition("[")
    if parsed.basetype != oiio.BASETYPE.UNKNOWN or base not in _INT_VECTORS:
        return parsed
    aggregate, semantics = _INT_VECTORS[base]
    return oiio.TypeDesc(oiio.BASETYPE.INT, aggregate, semantics, int(count.rstrip("]") or 0))


def _interleave(part: ImagePart) -> np.ndarray:
    """(H, W, C) in one dtype: the channels' own if they share one; otherwise a float type
    wide enough to carry every channel's values exactly (OpenImageIO converts each channel
    back to its own pixel type on write)."""
    arrays = list(part.channels.values())
    dtypes = {a.dtype for a in arrays}
    if len(dtypes) == 1:
        common = arrays[0].dtype
    elif any(d.kind in "ui" and d.itemsize >= 4 for d in dtypes):
        common = np.dtype(np.float64)
    else:
        common = np.dtype(np.float32)
    return np.ascontiguousarray(np.stack([a.astype(common, copy=False) for a in arrays], -1))


def _as_float(a: np.ndarray) -> np.ndarray:
    if a.dtype.kind == "u" and a.dtype.itemsize <= 2:
        return a.astype(np.float32) / np.float32(np.iinfo(a.dtype).max)
    return a.astype(np.float32, copy=False)


def _store(a: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if dtype.kind == "u" and dtype.itemsize <= 2 and a.dtype.kind == "f":
        top = np.iinfo(dtype).max
        return np.round(np.clip(np.nan_to_num(a), 0.0, 1.0) * top).astype(dtype)
    return np.ascontiguousarray(a.astype(dtype, copy=False))


def _infer_type(value: Any) -> str:
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool | int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, tuple | list) and value and all(isinstance(v, int | float)
                                                         for v in value):
        return f"float[{len(value)}]" if len(value) != 16 else "matrix"
    raise ValueError(f"cannot infer an image attribute type for {value!r}")
