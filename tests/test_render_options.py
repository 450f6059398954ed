"""The render's blend options on real EXR files: an external matte (its channel, multiply or
replace, its own data window), the blend in compositing log, the output alpha. The graph
is the render's (ReadPlate, ReadMatte, Swap, InverseWarp, MultiBandBlend, WritePlate, run
by the overlapped ``render_sequence``) with a fixed face instead of dlib's alignment."""

import numpy as np
import pytest
import torch
from exr_fixtures import write_plate

from faceswap_vfx import params as schema
from faceswap_vfx.core.geometry import apply, crop_from_template
from faceswap_vfx.core.template import TEMPLATE_68
from faceswap_vfx.errors import ChannelError
from faceswap_vfx.io.image import Box, Image, read_image, write_image
from faceswap_vfx.io.sequence import FramePattern
from faceswap_vfx.render.frame import MASK_CHANNEL, Face
from faceswap_vfx.render.graph import Graph
from faceswap_vfx.render.job import render_sequence
from faceswap_vfx.render.nodes import (
    InverseWarp,
    MultiBandBlend,
    Node,
    ReadMatte,
    ReadPlate,
    Swap,
    WritePlate,
)

FRAMES = [1001, 1002]
H, W = 144, 256  # exr_fixtures.write_plate: data window 256x144 at (12, 7) in 296x164
DATA, DISPLAY = Box(12, 7, W, H), Box(0, 0, W + 40, H + 20)
CENTRE = (150.0, 80.0)  # the face, display px


def bits(a):
    return a.view(np.dtype(f"u{a.dtype.itemsize}"))


def face_at(centre, size_px, r=64, margin=0.35, angle=0.2):
    """A face whose crop is ``size_px`` plate px wide, centred at ``centre`` (display px)."""
    s = size_px / r
    c, si = s * np.cos(angle), s * np.sin(angle)
    plate_from_crop = np.array([[c, -si, 0], [si, c, 0], [0, 0, 1.0]])
    plate_from_crop[:2, 2] = np.asarray(centre) - plate_from_crop[:2, :2] @ (r / 2, r / 2)
    return Face(apply(plate_from_crop @ crop_from_template(r, margin), TEMPLATE_68),
                plate_from_crop, r)


class FixedFaces(Node):
    """The alignment, without dlib: the same face on every frame."""

    inputs = ("frame",)
    outputs = ("faces",)

    def __init__(self, faces):
        self.faces = faces

    def run(self, values, params):
        return {"faces": self.faces}


def grey_face(crops):
    return torch.full_like(crops, 0.5)


def over(box, fn):
    """fn(x, y) at the pixel centres of ``box`` (file px), float32 (h, w)."""
    yy, xx = np.mgrid[box.y:box.y + box.height, box.x:box.x + box.width] + 0.5
    return fn(xx, yy).astype(np.float32)


def write_plates(folder, rgb):
    """exr_fixtures plates (A, Z, mask.r, metadata) with R, G, B = ``rgb(x, y)`` (half)."""
    for f in FRAMES:
        path = folder / f"plate.{f}.exr"
        write_plate(path, f)
        image = read_image(path)
        for i, name in enumerate("RGB"):
            image.part.channels[name] = (over(DATA, rgb) * (0.9 + 0.1 * i)).astype(np.float16)
        write_image(image, path)
    return str(folder / "plate.####.exr")


def half_plane(x, y):
    return x < CENTRE[0]


def small_disk(x, y):
    return (x - CENTRE[0]) ** 2 + (y - CENTRE[1]) ** 2 < 25.0 ** 2


@pytest.fixture(scope="module")
def shot(tmp_path_factory):
    """Smooth HDR plates; a matte sequence with a data window of its own and three
    channels: A (all 1: the default channel), roto.a (the half plane left of the face's
    centre) and disk (a disk well inside the face)."""
    root = tmp_path_factory.mktemp("options")
    plates = write_plates(root / "plate", lambda x, y: 0.4 + 0.3 * x / W)
    box = Box(40, 20, 220, 130)
    for f in FRAMES:
        channels = {"A": over(box, lambda x, y: x * 0 + 1), "roto.a": over(box, half_plane),
                    "disk": over(box, small_disk)}
        image = Image.from_array(np.stack(list(channels.values()), -1), tuple(channels),
                                 dtype=np.float16)
        image.part.data_window, image.part.display_window = box, DISPLAY
        write_image(image, root / "matte" / f"matte.{f}.exr")
    return {"root": root, "plates": plates, "matte": str(root / "matte" / "matte.####.exr")}


def render(plates, out, matte=None, **options):
    params = schema.resolve({"plate_colorspace": "lin_rec709", **options})
    graph = Graph([ReadPlate(FramePattern.parse(plates)),
                   ReadMatte(FramePattern.parse(matte) if matte else None),
                   FixedFaces([face_at(CENTRE, 120)]), Swap(grey_face), InverseWarp(),
                   MultiBandBlend(), WritePlate(out)])
    report = render_sequence(graph, FRAMES, out, params, progress=None)
    assert report.ok and report.written == FRAMES, report.summary()
    return [read_image(str(out).replace("####", str(f))).part for f in FRAMES]


def assert_plate_bits_outside(result, plate, alpha):
    outside = alpha == 0
    for name in "RGB":
        np.testing.assert_array_equal(bits(result.channels[name])[outside],
                                      bits(plate.channels[name])[outside])
    for name in ("Z", "mask.r"):
        np.testing.assert_array_equal(bits(result.channels[name]), bits(plate.channels[name]))


@pytest.fixture(scope="module")
def plain(shot):
    """The render without a matte, in scene-linear."""
    return render(shot["plates"], shot["root"] / "plain" / "s.####.exr")


def test_matte_multiplies_the_landmark_mask(shot, plain, tmp_path):
    parts = render(shot["plates"], tmp_path / "s.####.exr", shot["matte"],
                   matte_channel="roto.a", matte_mode="multiply")
    matte = over(DATA, half_plane)
    for part, base in zip(parts, plain, strict=True):
        alpha = part.channels[MASK_CHANNEL]
        np.testing.assert_array_equal(alpha, (base.channels[MASK_CHANNEL] * matte)
                                      .astype(np.float16))
        assert alpha.max() == 1 and (alpha > 0).sum() > 0.3 * (base.channels[MASK_CHANNEL] > 0
                                                               ).sum()
    plate = read_image(shot["plates"].replace("####", "1001")).part
    assert_plate_bits_outside(parts[0], plate, parts[0].channels[MASK_CHANNEL])
    right = (matte == 0) & (plain[0].channels[MASK_CHANNEL] > 0.5)
    assert right.sum() > 500  # where the face was swapped without the matte: the plate now
    np.testing.assert_array_equal(bits(parts[0].channels["G"])[right],
                                  bits(plate.channels["G"])[right])


def test_matte_replaces_the_landmark_mask(shot, tmp_path):
    parts = render(shot["plates"], tmp_path / "s.####.exr", shot["matte"],
                   matte_channel="disk", matte_mode="replace")
    np.testing.assert_array_equal(parts[0].channels[MASK_CHANNEL].astype(np.float32),
                                  over(DATA, small_disk))


def test_the_default_matte_channel_is_a(shot, plain, tmp_path):
    parts = render(shot["plates"], tmp_path / "s.####.exr", shot["matte"])  # A: all 1
    np.testing.assert_array_equal(parts[0].channels[MASK_CHANNEL], plain[0].channels[MASK_CHANNEL])


def test_an_unknown_matte_channel_fails_the_frames_by_name(shot, tmp_path):
    params = schema.resolve({"matte_channel": "roto.b"})
    plate = read_image(shot["plates"].replace("####", "1001"))
    with pytest.raises(ChannelError, match=r"no channel 'roto.b'.*matte.1001.exr, frame 1001"):
        ReadMatte(FramePattern.parse(shot["matte"])).run({"frame": 1001, "image": plate},
                                                         params)


def test_output_alpha_carries_the_final_mask(shot, plain, tmp_path):
    parts = render(shot["plates"], tmp_path / "s.####.exr", output_alpha=True)
    for part, base in zip(parts, plain, strict=True):
        assert part.channels["A"].dtype == np.float16  # the plate's own pixel type
        np.testing.assert_array_equal(part.channels["A"], part.channels[MASK_CHANNEL])
        np.testing.assert_array_equal(part.channels["A"], base.channels[MASK_CHANNEL])
    plate = read_image(shot["plates"].replace("####", "1001")).part
    assert not np.array_equal(plain[0].channels["A"], plain[0].channels[MASK_CHANNEL])
    np.testing.assert_array_equal(bits(plain[0].channels["A"]), bits(plate.channels["A"]))


def test_blend_in_compositing_log_on_a_smooth_plate_is_close_to_linear(shot, plain, tmp_path):
    parts = render(shot["plates"], tmp_path / "s.####.exr", blend_colorspace="compositing_log")
    plate = read_image(shot["plates"].replace("####", "1001")).part
    alpha = parts[0].channels[MASK_CHANNEL]
    np.testing.assert_array_equal(alpha, plain[0].channels[MASK_CHANNEL])
    assert_plate_bits_outside(parts[0], plate, alpha)
    inside = alpha > 0
    log_rgb, lin_rgb = parts[0].rgb()[inside], plain[0].rgb()[inside]
    assert np.abs(log_rgb - plate.rgb()[inside]).max() > 1e-3  # it did blend
    np.testing.assert_allclose(log_rgb, lin_rgb, rtol=0.03, atol=0.002)


def test_blend_in_compositing_log_keeps_the_plates_light_as_a_geometric_mean(tmp_path):
    """A fine HDR checker (0.1 and 10) under a flat face: inside, the face's levels remove
    the checker and the plate's coarse levels give its average: about 5 in scene-linear,
    about the geometric mean, 1, in log."""
    plates = write_plates(tmp_path / "plate",
                          lambda x, y: np.where((np.floor(x) + np.floor(y)) % 2, 10.0, 0.1))
    means = {}
    for space in ("scene_linear", "compositing_log"):
        part = render(plates, tmp_path / space / "s.####.exr", blend_colorspace=space)[0]
        core = part.channels[MASK_CHANNEL] == 1
        assert core.sum() > 500
        means[space] = float(np.median(part.rgb()[..., 0][core]))
    assert 3.0 < means["scene_linear"] < 7.0
    assert 0.5 < means["compositing_log"] < 2.0
