"""The JPEG baseline: the same crops stored as JPEG at a fixed quality or at a byte budget.

Encoding and decoding go through :mod:`faceswap_vfx.io.image` (OpenImageIO, libjpeg,
baseline with the standard Huffman tables, 4:2:0 chroma) on 8-bit values of the
working-space crop. The size compared with the latent is the entropy-coded payload: the
bytes of the scan, after the start-of-scan header and before the end-of-image marker. The
headers (quantisation and Huffman tables, JFIF/Exif, about 650 bytes) are the same for
every image of a quality, like the decoder weights on the network's side, and a 64 px
crop could never fit 512 bytes with them. Both sizes are reported.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from faceswap_vfx.io.image import Image, read_image, write_image

QUALITIES = range(1, 101)


@dataclass(frozen=True)
class JpegResult:
    """Decoded images ``(B, 3, H, W)`` float32 in [0, 1], and per image the quality used,
    the file size and the payload size in bytes."""

    images: torch.Tensor
    quality: list[int]
    file_bytes: list[int]
    payload_bytes: list[int]


def payload_size(data: bytes) -> int:
    """Bytes of a baseline JPEG's entropy-coded scan (from after the SOS header to the EOI
    marker). Raises ValueError for data that is not a one-scan JPEG."""
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG (no SOI marker)")
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            raise ValueError(f"bad JPEG marker at byte {i}")
        marker = data[i + 1]
        length = int.from_bytes(data[i + 2:i + 4], "big")
        if marker == 0xDA:  # start of scan: the payload runs to the EOI marker
            end = len(data) - 2 if data[-2:] == b"\xff\xd9" else len(data)
            return end - (i + 2 + length)
        i += 2 + length
    raise ValueError("JPEG has no scan")


def _to_uint8(image: torch.Tensor) -> np.ndarray:
    """``(3, H, W)`` float -> ``(H, W, 3)`` float32 on the 8-bit grid (what the file holds)."""
    hwc = image.detach().float().clamp(0.0, 1.0).permute(1, 2, 0).cpu().numpy()
    return np.round(hwc * 255.0) / 255.0


def encode(image: torch.Tensor, quality: int, folder: Path) -> tuple[torch.Tensor, int, int]:
    """One ``(3, H, W)`` image in [0, 1] through a JPEG file of ``quality`` (1..100) in
    ``folder``: ``(decoded (3, H, W) float32, file bytes, payload bytes)``."""
    if not 1 <= int(quality) <= 100:
        raise ValueError(f"JPEG quality {quality} outside 1..100")
    path = folder / f"q{int(quality):03d}.jpg"
    write_image(Image.from_array(_to_uint8(image), dtype=np.uint8,
                                 attributes={"Compression": f"jpeg:{int(quality)}"}), path)
    data = path.read_bytes()
    decoded = read_image(path).part.rgb()
    out = torch.from_numpy(np.ascontiguousarray(decoded, np.float32)).permute(2, 0, 1)
    return out, len(data), payload_size(data)


def at_quality(images: torch.Tensor, quality: int) -> JpegResult:
    """Every image of ``(B, 3, H, W)`` through JPEG at one ``quality``."""
    _check(images)
    with tempfile.TemporaryDirectory(prefix="faceswap_jpeg_") as tmp:
        done = [encode(im, quality, Path(tmp)) for im in images]
    return JpegResult(torch.stack([d[0] for d in done]).to(images.device),
                      [int(quality)] * len(done), [d[1] for d in done], [d[2] for d in done])


def at_budget(images: torch.Tensor, budget: int) -> JpegResult:
    """Every image of ``(B, 3, H, W)`` at the highest quality whose payload fits ``budget``
    bytes (quality 1 when none does). The payload grows with the quality almost always; a
    binary search finds the boundary and the qualities just above it are checked too."""
    _check(images)
    out = []
    with tempfile.TemporaryDirectory(prefix="faceswap_jpeg_") as tmp:
        folder = Path(tmp)
        for im in images:
            cache: dict[int, tuple[torch.Tensor, int, int]] = {}

            def size(q: int, im: torch.Tensor = im, cache: dict = cache) -> int:
                if q not in cache:
                    cache[q] = encode(im, q, folder)
                return cache[q][2]

            lo, hi = 1, 100
            if size(1) > budget:
                best = 1
            else:
                while lo < hi:  # largest q with size(q) <= budget, assuming monotone
                    mid = (lo + hi + 1) // 2
                    lo, hi = (mid, hi) if size(mid) <= budget else (lo, mid - 1)
                best = lo
                for q in range(best + 1, min(best + 4, 101)):  # small non-monotone steps
                    if size(q) <= budget:
                        best = q
            out.append((best, *cache[best]))
    return JpegResult(torch.stack([o[1] for o in out]).to(images.device), [o[0] for o in out],
                      [o[2] for o in out], [o[3] for o in out])


def _check(images: torch.Tensor) -> None:
    if images.ndim != 4 or images.shape[1] != 3 or not images.is_floating_point():
        raise ValueError(f"images must be float (B, 3, H, W), got {tuple(images.shape)}")
