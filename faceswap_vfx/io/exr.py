"""EXR pixels through the OpenEXR library: several times faster than OpenImageIO's own
EXR reads and writes (which convert every pixel between float and half in mixed-type
files and use few threads), with the same files and the same :class:`~faceswap_vfx.io.
image.Image` as the result.

:mod:`faceswap_vfx.io.image` calls :func:`read` and :func:`write`, and goes through
OpenImageIO instead whenever they raise :class:`Unsupported`. Headers stay OpenImageIO's:

* reading: the caller passes OpenImageIO's specs (header only, cheap: attribute names
  and types, channel order); OpenEXR decodes the pixels, every channel in its own type.
* writing: OpenImageIO translates the header itself. It writes a stand-in of every part,
  the same spec over a 1x1 data window, to the output path; OpenEXR reads that header
  back and writes it, with the real data window, and the pixels over the stand-in. So
  names (``Copyright`` -> ``owner``, ``DateTime`` -> ``capDate``, ...), types
  (``rational2i`` -> rational, ``matrix`` -> m44f, ``float[8]`` -> chromaticities or a
  float vector, ...), the metadata OpenImageIO drops or adds (``oiio:*``, other
  formats' ``tiff:*``, a ``DateTime`` of now, multi-part names) all follow OpenImageIO
  exactly, with no second table to keep in step. What that gives (tests/test_io_exr.py
  checks the header bytes against OpenImageIO's own write):

  ==========================================  =========================================
  OpenImageIO attribute (type)                EXR header entry (type)
  ==========================================  =========================================
  Copyright, ImageDescription, DateTime       owner, comments, capDate (string; capDate
                                              of now when absent)
  PixelAspectRatio, ExposureTime, FNumber     pixelAspectRatio, expTime, aperture (float)
  worldToCamera/NDC/Screen (matrix)           the same names (m44f)
  smpte:TimeCode, smpte:KeyCode               timeCode (timecode), keyCode (keycode)
  compression ``zip``, ``dwaa:45``...         compression (+ dwaCompressionLevel float)
  openexr:lineOrder (string)                  lineOrder
  other names: string, int, float             the same name: string, int, float
  float[2]/float2, int[2]                     v2f, v2i
  float[3]/vector, int[3]                     v3f, v3i
  box2i, box2f                                box2i, box2f
  matrix33, matrix (or float[16])             m33f, m44f
  rational2i, timecode, keycode               rational, timecode, keycode
  chromaticities (float[8])                   chromaticities
  float[N], string[N] (other N)               floatvector, stringvector
  double, double vectors, matrices            double, v2d, v3d, m33d, m44d (see below)
  oiio:*, tiff:* etc., int[N > 3], half       dropped
  ==========================================  =========================================

What raises :class:`Unsupported` (OpenImageIO then does the work, as before):

=====================================  ==================================================
read or write                          why
=====================================  ==================================================
deep parts                             not images of fixed size
subsampled channels (luminance/chroma) fewer pixels than the data window
a file or header OpenEXR rejects       (truncated, corrupt, invalid keycode, unknown
                                       attribute type): OpenImageIO names the error
write: a channel not half/float/uint32 OpenImageIO converts it to half or float
write: an empty data window            nothing for OpenEXR to write
write: zip level other than 4          (``zip:9``, ``CompressionQuality``): OpenEXR's
                                       Python API cannot set it; DWA levels travel in the
                                       header and are kept
write: a rational not in lowest terms  OpenEXR's Python API reduces it
write: MIP/RIP-mapped tiles            (``textureformat``): one level only here
write: channels OpenImageIO renames    (an empty name)
=====================================  ==================================================

Differences in the file written: a single-part file carries a ``type`` attribute
(``scanlineimage``/``tiledimage``, 29 bytes; OpenImageIO does not show it); and
double-precision attributes (``double``, ``vector2d``, ``vectord``, ``matrix33d``,
``matrixd``) are written, as OpenEXR takes them, where OpenImageIO's Python API drops them
(it cannot set them in a spec): they round-trip here, not through OpenImageIO alone.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import OpenEXR
import OpenImageIO as oiio

from faceswap_vfx.io.exr_chunks import chunks_complete
from faceswap_vfx.io.thread_stdout import caught_prints

# EXR pixel types, as OpenImageIO names them, and the numpy type of each.
PIXEL_DTYPES = {"half": np.dtype(np.float16), "float": np.dtype(np.float32),
                "uint": np.dtype(np.uint32)}
_ZIP_LEVEL = 4  # OpenImageIO's and OpenEXR's default; OpenEXR's Python API sets no other
# Double-precision attribute types as OpenImageIO names them, and the shape of the float64
# array OpenEXR's Python API takes for each (double, v2d, v3d, m33d, m44d).
_DOUBLE_SHAPES = {"double": (1,), "vector2d": (2,), "double[2]": (2,), "vectord": (3,),
                  "double[3]": (3,), "matrix33d": (3, 3), "double[9]": (3, 3),
                  "matrixd": (4, 4), "double[16]": (4, 4)}
# Names OpenImageIO's EXR writer renames or handles itself (lower case): a double under one
# of them is of the wrong type there, and dropped, as OpenImageIO would.
_OIIO_NAMES = {"worldtocamera", "worldtondc", "worldtoscreen", "datetime", "capdate",
               "imagedescription", "description", "comments", "copyright", "owner",
               "pixelaspectratio", "xresolution", "xdensity", "yresolution", "exposuretime",
               "exptime", "fnumber", "aperture", "name", "dwacompressionlevel", "timecode",
               "keycode", "planarconfig", "type", "tiles", "chunkcount", "maxsamplesperpixel",
               "compression", "textureformat", "resolutionunit", "smpte:timecode",
               "smpte:keycode", "openexr:dwacompressionlevel", "openexr:roundingmode"}
_threads_set = False
_off_because = ""  # why this process must not use OpenEXR at all (see turn_off)


class Unsupported(Exception):
    """This file or image is not for the OpenEXR path; the message says why."""


def turn_off(reason: str) -> None:
    """Send every read and write of this process to OpenImageIO from now on."""
    global _off_because
    _off_because = reason


def _check_on() -> None:
    if _off_because:
        raise Unsupported(_off_because)


def set_threads(threads: int) -> None:
    """OpenEXR's worker threads, process-wide: ``threads`` > 0 that many, 0 one per core,
    < 0 none (the calling thread alone), as OpenImageIO's ``exr_threads``."""
    global _threads_set
    count = threads if threads > 0 else (os.cpu_count() or 1) if threads == 0 else 0
    OpenEXR.set_global_thread_count(count)
    _threads_set = True


def _ensure_threads() -> None:
    """Until :func:`set_threads` is called, as many threads as OpenImageIO uses (its
    default: one per core; OpenEXR's own default is none)."""
    if not _threads_set:
        set_threads(oiio.get_int_attribute("exr_threads"))


# --- reading ----------------------------------------------------------------------------
def read(path: str | os.PathLike, specs: Sequence[oiio.ImageSpec]
         ) -> list[dict[str, np.ndarray]]:
    """Every channel of every part of the EXR file ``path``, whose OpenImageIO headers
    are ``specs``: per part, channel name -> (H, W) array over the data window in the
    channel's own type (float16, float32, uint32), in the specs' channel order."""
    _check_on()
    if any(spec.deep for spec in specs):
        raise Unsupported("deep data")
    if (specs[0].getattribute("oiio:subimages") or 1) != len(specs):
        raise Unsupported("some parts of a multi-part file (OpenEXR would decode them all)")
    _ensure_threads()
    if chunks_complete(path) is False:  # OpenEXR would print a warning and drop the part
        raise Unsupported("some chunks are missing or cut short (truncated file)")
    try:
        with caught_prints() as printed:
            file = OpenEXR.File(str(path), separate_channels=True)
        found = [file.channels(i) for i in range(len(file.parts))]
    except Exception as exc:  # noqa: BLE001 - whatever OpenEXR throws, OpenImageIO reports
        raise Unsupported(f"OpenEXR cannot read the file: {exc}") from None
    if len(found) != len(specs):  # OpenEXR drops a part it cannot decode, with a warning
        raise Unsupported(f"OpenEXR decodes {len(found)} of {len(specs)} parts: "
                          f"{printed.getvalue().strip()}")
    return [_part_channels(spec, channels) for spec, channels in zip(specs, found,
                                                                    strict=True)]


def _part_channels(spec: oiio.ImageSpec, channels: Mapping[str, Any]
                   ) -> dict[str, np.ndarray]:
    names = list(spec.channelnames)
    if sorted(names) != sorted(channels):
        raise Unsupported("OpenEXR and OpenImageIO see different channels")
    out = {}
    for name, fmt in zip(names, _formats(spec), strict=True):
        channel = channels[name]
        if channel.xSampling != 1 or channel.ySampling != 1:
            raise Unsupported(f"channel {name!r} is subsampled")
        pixels = channel.pixels
        if pixels.shape != (spec.height, spec.width) or pixels.dtype != PIXEL_DTYPES.get(fmt):
            raise Unsupported(f"channel {name!r} is {pixels.dtype} {pixels.shape}, "
                              f"OpenImageIO says {fmt} {(spec.height, spec.width)}")
        out[name] = pixels
    return out


def _formats(spec: oiio.ImageSpec) -> list[str]:
    return [str(f) for f in spec.channelformats] or [str(spec.format)] * spec.nchannels


# --- writing ----------------------------------------------------------------------------
def write(path: str | os.PathLike, specs: Sequence[oiio.ImageSpec],
          channels: Sequence[Mapping[str, np.ndarray]],
          attributes: Sequence[Sequence[Any]] = ()) -> None:
    """Write an EXR file of one part per spec (the header OpenImageIO would write for it)
    with the given channels: name -> (spec.height, spec.width) array, float16, float32
    or uint32. ``attributes`` (per part, each with ``name``, ``type``, ``value``, as
    :class:`~faceswap_vfx.io.image.Attribute`) adds the double-precision ones the specs
    cannot hold. ``path`` is overwritten, also when this raises."""
    _check_on()
    for spec, chans in zip(specs, channels, strict=True):
        _check_writable(spec, chans)
    headers = _oiio_headers(Path(path), specs)
    for header, extra in zip(headers, attributes, strict=False):
        header.update(_doubles(extra, header))
    for header, spec in zip(headers, specs, strict=True):
        level = spec.getattribute("openexr:dwaCompressionLevel")
        if level is not None:  # OpenImageIO's header leaves it out; its codec level is kept
            header["dwaCompressionLevel"] = float(level)
    parts = [_exr_part(h, s, c) for h, s, c in zip(headers, specs, channels, strict=True)]
    _ensure_threads()
    try:
        if len(parts) == 1:
            OpenEXR.File(*parts[0]).write(str(path))
        else:
            OpenEXR.File([OpenEXR.Part(h, c) for h, c in parts]).write(str(path))
    except Exception as exc:  # noqa: BLE001 - OpenImageIO retries and reports
        raise Unsupported(f"OpenEXR could not write the file: {exc}") from None


def _check_writable(spec: oiio.ImageSpec, channels: Mapping[str, np.ndarray]) -> None:
    dtypes = {a.dtype for a in channels.values()}
    if not dtypes <= set(PIXEL_DTYPES.values()):
        other = sorted(str(d) for d in dtypes - set(PIXEL_DTYPES.values()))
        raise Unsupported(f"pixel type {other[0]} is not an EXR pixel type")
    if spec.width < 1 or spec.height < 1:
        raise Unsupported("empty data window")
    if spec.getattribute("CompressionQuality") is not None:
        raise Unsupported("CompressionQuality")
    method, _, level = str(spec.getattribute("compression") or "zip").partition(":")
    if method.lower().startswith("zip") and level.isdigit() and 1 <= int(level) <= 9 \
            and int(level) != _ZIP_LEVEL:
        raise Unsupported(f"zip level {level}")
    for a in spec.extra_attribs:
        if a.type.vecsemantics == oiio.VECSEMANTICS.RATIONAL and not _lowest_terms(a.value):
            raise Unsupported(f"rational {a.name} {a.value} not in lowest terms")


def _lowest_terms(value: Any) -> bool:
    if len(value) != 2:
        return False
    num, den = value
    return 0 < den < 2 ** 31 and -2 ** 31 <= num < 2 ** 31 and math.gcd(num, den) == 1


def _doubles(attributes: Sequence[Any], header: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The double-precision ``attributes`` as OpenEXR's Python API takes them (float64
    arrays), those OpenImageIO would write if it could: not under a name the header has,
    OpenImageIO renames (:data:`_OIIO_NAMES`) or keeps from EXR files (``oiio:``, other
    formats' ``tiff:``...)."""
    found = {}
    for a in attributes:
        prefix = a.name.partition(":")[0].lower() if ":" in a.name else ""
        if (a.type not in _DOUBLE_SHAPES or a.name in header or a.name.lower() in _OIIO_NAMES
                or prefix in _dropped_prefixes()):
            continue
        try:
            found[a.name] = np.array(a.value, np.float64).reshape(_DOUBLE_SHAPES[a.type])
        except (TypeError, ValueError):  # not numbers of that count: dropped, as before
            continue
    return found


@functools.cache
def _dropped_prefixes() -> frozenset[str]:
    """Name prefixes OpenImageIO's EXR writer drops: ``oiio:``, ``ICCProfile:`` and other
    formats' (``tiff:``, ``jpeg:``...), lower case."""
    formats = set(oiio.get_string_attribute("format_list").split(",")) - {"openexr"}
    return frozenset(formats | {"oiio", "iccprofile"})


def _oiio_headers(path: Path, specs: Sequence[oiio.ImageSpec]) -> list[dict[str, Any]]:
    """The header OpenImageIO writes for each spec, as OpenEXR's Python API reads it:
    OpenImageIO writes the specs over a 1x1 data window to ``path``, OpenEXR reads it."""
    small = []
    for spec in specs:
        small.append(oiio.ImageSpec(spec))
        small[-1].width = small[-1].height = 1
    out = oiio.ImageOutput.create(str(path))
    if out is None:
        raise Unsupported(f"OpenImageIO has no writer: {oiio.geterror().strip()}")
    ok = out.open(str(path), tuple(small) if len(small) > 1 else small[0])
    for i, spec in enumerate(small):
        if i:
            ok = ok and out.open(str(path), spec, "AppendSubimage")
        ok = ok and out.write_image(np.zeros((1, 1, spec.nchannels), np.float32))
    ok = out.close() and ok
    if not ok:
        raise Unsupported(f"OpenImageIO could not write the header: {out.geterror()}")
    try:
        file = OpenEXR.File(str(path), header_only=True)
        return [dict(file.header(i)) for i in range(len(specs))]
    except Exception as exc:  # noqa: BLE001 - an attribute OpenEXR's Python API rejects
        raise Unsupported(f"OpenEXR cannot read OpenImageIO's header: {exc}") from None


def _exr_part(header: dict[str, Any], spec: oiio.ImageSpec,
              channels: Mapping[str, np.ndarray]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, channels) for OpenEXR's Python API: the stand-in's header with the real
    data window; its chunk count dropped (OpenEXR counts again)."""
    header = dict(header)
    listed = header.pop("channels")
    header.pop("chunkCount", None)
    if sorted(c.name for c in listed) != sorted(channels):
        raise Unsupported("OpenImageIO renames channels")
    tiles = header.get("tiles")
    if tiles is not None and tiles.mode != OpenEXR.ONE_LEVEL:
        raise Unsupported("MIP-mapped tiles")
    header["dataWindow"] = ((spec.x, spec.y), (spec.x + spec.width - 1,
                                              spec.y + spec.height - 1))
    return header, {n: np.ascontiguousarray(a) for n, a in channels.items()}
