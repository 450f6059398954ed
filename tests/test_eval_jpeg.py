"""The JPEG baseline: payload sizes, the byte-budget search, decoded images."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import torch
from eval_fixtures import smooth_images

from faceswap_vfx.eval import jpeg
from faceswap_vfx.eval.metrics import psnr

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def images():
    g = torch.Generator().manual_seed(1)
    return (smooth_images(2, 64, 3) + 0.05 * torch.randn(2, 3, 64, 64, generator=g)).clamp(0, 1)


def test_payload_is_the_file_less_its_fixed_headers(images):
    with tempfile.TemporaryDirectory() as tmp:
        sizes = [jpeg.encode(images[0], q, Path(tmp))[1:] for q in (10, 50, 90)]
        data = (Path(tmp) / "q090.jpg").read_bytes()
    headers = {f - p for f, p in sizes}
    assert len(headers) == 1 and 300 < headers.pop() < 1000  # tables: the same at any quality
    payloads = [p for _, p in sizes]
    assert payloads == sorted(payloads) and payloads[0] > 0
    sos = data.index(b"\xff\xda")
    scan = len(data) - 2 - (sos + 2 + int.from_bytes(data[sos + 2:sos + 4], "big"))
    assert jpeg.payload_size(data) == scan == payloads[-1]
    with pytest.raises(ValueError, match="not a JPEG"):
        jpeg.payload_size(b"\x89PNG....")


def test_budget_takes_the_highest_quality_that_fits(images):
    budget = 700
    res = jpeg.at_budget(images, budget)
    with tempfile.TemporaryDirectory() as tmp:
        for k, q in enumerate(res.quality):
            assert res.payload_bytes[k] == jpeg.encode(images[k], q, Path(tmp))[2] <= budget
            if q < 100:
                assert jpeg.encode(images[k], q + 1, Path(tmp))[2] > budget
    assert res.images.shape == images.shape and res.images.dtype == torch.float32
    tiny = jpeg.at_budget(images[:1], 1)  # nothing fits: quality 1
    assert tiny.quality == [1] and tiny.payload_bytes[0] > 1


def test_decoded_images_are_close_at_high_quality(images):
    """Smooth images: > 40 dB at quality 95 (noisy colour loses more to 4:2:0 chroma)."""
    smooth = smooth_images(2, 64, 3)
    hi, lo = jpeg.at_quality(smooth, 95), jpeg.at_quality(smooth, 10)
    assert hi.quality == [95, 95]
    assert (psnr(hi.images, smooth) > 40).all()
    assert (psnr(hi.images, smooth) > psnr(lo.images, smooth) + 5).all()
    assert hi.file_bytes[0] > lo.file_bytes[0]
    with pytest.raises(ValueError, match="outside 1..100"):
        jpeg.at_quality(images, 0)
