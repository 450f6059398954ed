"""One frame's swap on a real generated EXR frame: exact outside the mask, changed inside."""

import copy

import numpy as np
import pytest
import torch
from exr_fixtures import write_plate
from scipy import ndimage

from faceswap_vfx import params as schema
from faceswap_vfx.core.geometry import apply, crop_from_template
from faceswap_vfx.core.template import TEMPLATE_68
from faceswap_vfx.io.image import read_image, write_image
from faceswap_vfx.render.frame import MASK_CHANNEL, Face, swap_frame


def face_at(centre, size_px, r=64, margin=0.35, angle=0.2):
    """A face whose crop is ``size_px`` plate px wide, centred at ``centre`` (display px)."""
    s = size_px / r
    c, si = s * np.cos(angle), s * np.sin(angle)
    plate_from_crop = np.array([[c, -si, 0], [si, c, 0], [0, 0, 1.0]])
    plate_from_crop[:2, 2] = np.asarray(centre) - plate_from_crop[:2, :2] @ (r / 2, r / 2)
    landmarks = apply(plate_from_crop @ crop_from_template(r, margin), TEMPLATE_68)
    return Face(landmarks, plate_from_crop, r)


def bits(a):
    return a.view(np.dtype(f"u{a.dtype.itemsize}"))


@pytest.fixture
def frame(tmp_path):
    """A real EXR frame: smooth HDR light (0.05..3) with fine texture, extra channels,
    data window inside the display window, NaN and Inf far from the face."""
    write_plate(tmp_path / "plate.exr", 1, width=256, height=144)
    image = read_image(tmp_path / "plate.exr")
    yy, xx = np.mgrid[0:144, 0:256].astype(np.float32)
    light = 0.05 + 3.0 * (xx / 255.0) ** 2
    texture = 0.05 * np.sin(xx * 2.1) * np.sin(yy * 1.7)
    for i, name in enumerate(("R", "G", "B")):
        image.part.channels[name] = (light * (0.8 + 0.1 * i) + texture).astype(np.float16)
    image.part.channels["R"][0, 0], image.part.channels["G"][0, 1] = np.nan, np.inf
    return image


def params(**kw):
    return schema.resolve({"plate_colorspace": "lin_rec709", **kw})


def grey_face(crops):
    return torch.full_like(crops, 0.5)


def test_outside_the_mask_is_bit_identical_and_inside_is_the_face(frame, tmp_path):
    before = {k: v.copy() for k, v in frame.part.channels.items()}
    face = face_at((150, 80), 120)
    assert len(swap_frame(frame, [face], grey_face, params())) == 1
    alpha = frame.part.channels[MASK_CHANNEL].astype(np.float32)
    assert alpha.max() == 1.0 and (alpha == 0).mean() > 0.5 and np.isnan(before["R"][0, 0])
    for name in ("R", "G", "B"):
        outside = alpha == 0
        np.testing.assert_array_equal(bits(frame.part.channels[name])[outside],
                                      bits(before[name])[outside])
    for name in ("A", "Z", "mask.r"):
        np.testing.assert_array_equal(bits(frame.part.channels[name]), bits(before[name]))
    # in the middle of the face: the grey face's detail (none) over the plate's light
    inside = alpha > 0.99
    assert inside.sum() > 500

    def detail(channel):  # high-pass: what the generated face provides
        g = np.nan_to_num(channel.astype(np.float32), posinf=0)
        return np.abs(g - ndimage.gaussian_filter(g, 2.0))[inside].mean()

    assert detail(frame.part.channels["G"]) < 0.2 * detail(before["G"])
    write_image(frame, tmp_path / "out.exr")
    back = read_image(tmp_path / "out.exr").part
    assert MASK_CHANNEL in back.channels and back.attribute("framesPerSecond") == (24000, 1001)


def test_plate_levels_keep_the_plates_light(frame):
    bright = lambda crops: torch.full_like(crops, 0.95)  # noqa: E731
    face = face_at((128, 72), 130)
    a = copy.deepcopy(frame)
    swap_frame(a, [face], bright, params(plate_levels=0))
    b = copy.deepcopy(frame)
    swap_frame(b, [face], bright, params(plate_levels=3))
    inside = a.part.channels[MASK_CHANNEL] > 0.99
    plate_mean = np.mean(frame.part.channels["G"].astype(np.float32)[inside])
    mean_a = np.mean(a.part.channels["G"].astype(np.float32)[inside])
    mean_b = np.mean(b.part.channels["G"].astype(np.float32)[inside])
    assert abs(mean_b - plate_mean) < 0.5 * abs(mean_a - plate_mean)


def test_face_off_the_plate_changes_nothing(frame):
    before = frame.part.channels["R"].copy()
    assert swap_frame(frame, [face_at((5000, 5000), 90)], grey_face, params()) == []
    np.testing.assert_array_equal(bits(frame.part.channels["R"]), bits(before))
    assert frame.part.channels[MASK_CHANNEL].max() == 0


def test_a_face_matted_out_entirely_changes_nothing(frame):
    before = {k: v.copy() for k, v in frame.part.channels.items()}
    face = face_at((150, 80), 120)
    matte = np.zeros(frame.part.shape, np.float32)
    assert len(swap_frame(frame, [face], grey_face, params(), matte=matte)) == 1
    assert frame.part.channels[MASK_CHANNEL].max() == 0
    for name, pixels in before.items():
        np.testing.assert_array_equal(bits(frame.part.channels[name]), bits(pixels))
    matte[60:70, 140:150] = 1.0  # a corner of it: that corner, and no pixel beyond
    swap_frame(frame, [face], grey_face, params(), matte=matte)
    changed = np.any([bits(frame.part.channels[n]) != bits(before[n]) for n in "RGB"], 0)
    corner = changed[60:70, 140:150]
    assert corner.mean() > 0.9 and changed.sum() == corner.sum()


def test_output_alpha_carries_the_mask(frame):
    swap_frame(frame, [face_at((150, 80), 90)], grey_face, params(output_alpha=True))
    np.testing.assert_array_equal(frame.part.channels["A"], frame.part.channels[MASK_CHANNEL])


def test_overlapping_faces_blend_over_each_other_as_one_after_the_other(frame):
    """The blend reuses the plate pixels read for the crop, except where an earlier face
    of the frame has changed them: two overlapping faces give what two passes give."""
    first, second = face_at((120, 72), 100), face_at((160, 80), 100, angle=-0.3)
    both = copy.deepcopy(frame)
    swap_frame(both, [first, second], grey_face, params())
    swap_frame(frame, [first], grey_face, params())
    swap_frame(frame, [second], grey_face, params())
    for name in ("R", "G", "B"):
        np.testing.assert_array_equal(bits(both.part.channels[name]),
                                      bits(frame.part.channels[name]))


def test_an_8_or_16_bit_alpha_gets_the_mask_over_its_full_range(frame):
    frame.part.channels["A"] = np.zeros(frame.part.shape, np.uint16)
    swap_frame(frame, [face_at((150, 80), 90)], grey_face, params(output_alpha=True))
    mask = frame.part.channels[MASK_CHANNEL].astype(np.float32)
    alpha = frame.part.channels["A"]
    assert alpha.dtype == np.uint16 and alpha.max() == 65535
    assert ((alpha > 0) & (alpha < 65535)).sum() > 50  # the soft edge kept, not cut to 0
    np.testing.assert_allclose(alpha / 65535.0, mask, atol=1e-3)  # half's rounding


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.uint16, np.uint8])
def test_plate_roi_and_write_rgb_in_each_channel_type(frame, dtype):
    """The ROI read for the blend and the write back, per pixel type, against the image's
    own conversion (half and float through torch's casts, integers scaled)."""
    from faceswap_vfx.core.composite import Roi
    from faceswap_vfx.render.frame import plate_roi, write_rgb

    part = frame.part
    rng = np.random.default_rng(1)
    for name in ("R", "G", "B"):
        values = rng.random(part.shape) * (1.0 if np.dtype(dtype).kind == "u" else 3.0)
        top = np.iinfo(dtype).max if np.dtype(dtype).kind == "u" else 1.0
        part.channels[name] = (values * top).astype(dtype)
    part.channels["G"][5, 30] = np.nan if np.dtype(dtype).kind == "f" else 0
    roi = Roi(20, 3, 200, 120)
    got = plate_roi(part, roi)[0].numpy()
    want = np.nan_to_num(part.rgb(region=roi.slices, planar=True), nan=0.0)
    np.testing.assert_array_equal(got, want)
    before = {n: part.channels[n].copy() for n in ("R", "G", "B")}
    new = rng.random((*roi.size, 3)).astype(np.float32)
    where = rng.random(roi.size) > 0.4
    write_rgb(part, roi.slices, new, where)
    for i, name in enumerate(("R", "G", "B")):
        expected = before[name].copy()
        values = new[..., i]
        if np.dtype(dtype).kind == "u":
            values = np.round(values * np.iinfo(dtype).max)
        np.copyto(expected[roi.slices], values, casting="unsafe", where=where)
        np.testing.assert_array_equal(bits(part.channels[name]), bits(expected))
