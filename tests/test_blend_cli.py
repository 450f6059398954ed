"""``faceswap-vfx blend`` on generated image sequences: real files through OpenImageIO,
extra channels and metadata, masks with their own data windows, and each named error."""

import numpy as np
import pytest
import torch
from exr_fixtures import write_plate
from scipy import ndimage

from faceswap_vfx.cli.main import main
from faceswap_vfx.core.blend import multiband_blend
from faceswap_vfx.core.mask import soft_mask
from faceswap_vfx.io.image import Box, Image, read_image, write_image

FRAMES = (1001, 1002, 1003)
H, W = 144, 256  # the data window of exr_fixtures.write_plate: 256x144 at (12, 7)
DATA = Box(12, 7, W, H)
DISPLAY = Box(0, 0, W + 40, H + 20)


def bits(a):
    return a.view(np.dtype(f"u{a.dtype.itemsize}"))


def write_exr(path, channels, data=DATA, display=DISPLAY):
    names = tuple(channels)
    image = Image.from_array(np.stack([channels[n] for n in names], -1), names)
    image.part.data_window, image.part.display_window = data, display
    write_image(image, path)


def smooth_plate(frame):
    """HDR light (0.05..3) with a little grain: what a plate's low frequencies look like."""
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    light = 0.05 + 3.0 * (xx / W) ** 2 + 0.3 * (yy / H) + 0.01 * frame % 7
    return {c: (light * (0.8 + 0.1 * i)).astype(np.float16) for i, c in enumerate("RGB")}


def face_source():
    """Other light entirely (flat grey) with strong fine detail."""
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    detail = 0.4 * np.sign(np.sin(xx * 1.9) * np.sin(yy * 1.3))
    return {c: (0.5 + detail).astype(np.float16) for c in "RGB"}


def disk(box: Box, centre=(150, 80), radius=40.0):
    """(box.height, box.width) float 0/1 disk, centre in file pixel coordinates."""
    yy, xx = np.mgrid[box.y:box.y + box.height, box.x:box.x + box.width] + 0.5
    return ((xx - centre[0]) ** 2 + (yy - centre[1]) ** 2 < radius ** 2).astype(np.float32)


@pytest.fixture(scope="module")
def shot(tmp_path_factory):
    """Targets with A, Z, mask.r and rich metadata (exr_fixtures), RGB replaced by smooth
    light; sources; masks in channel A with a data window cropped to the disk (as Nuke's
    autocrop writes a roto) plus a decoy first channel."""
    root = tmp_path_factory.mktemp("blend")
    for f in FRAMES:
        write_plate(root / "plate" / f"plate.{f}.exr", f)
        image = read_image(root / "plate" / f"plate.{f}.exr")
        image.part.channels.update(smooth_plate(f))
        write_image(image, root / "plate" / f"plate.{f}.exr")
        write_exr(root / "face" / f"face.{f}.exr", face_source())
        crop = Box(100, 30, 110, 110)
        write_exr(root / "roto" / f"roto.{f}.exr",
                  {"A": disk(crop), "B": np.ones((110, 110), np.float32)}, data=crop)
    return {"root": root, "target": str(root / "plate" / "plate.####.exr"),
            "source": str(root / "face" / "face.####.exr"),
            "mask": str(root / "roto" / "roto.####.exr")}


def blend(shot, out, *extra, **inputs):
    args = {"source": shot["source"], "target": shot["target"], "mask": shot["mask"], **inputs}
    return main(["blend", *(x for k, v in args.items() for x in (f"--{k}", str(v))),
                 "--out", str(out), *extra])


def frame_path(pattern, frame):
    return str(pattern).replace("####", str(frame))


def test_blend_changes_only_rgb_inside_the_mask(shot, tmp_path, capsys):
    out = tmp_path / "comp.####.exr"
    assert blend(shot, out, "--plate-levels", "2", "--edge-feather", "3") == 0
    text = capsys.readouterr().out
    assert "Progress: 100%" in text and "3 written" in text
    alpha = soft_mask(disk(DATA), 3.0)
    outside = alpha == 0
    assert outside.mean() > 0.7 and (alpha == 1).sum() > 1500
    for f in FRAMES:
        plate = read_image(frame_path(shot["target"], f)).part
        result = read_image(frame_path(out, f)).part
        assert list(result.channels) == list(plate.channels)
        assert (result.data_window, result.display_window) == (DATA, DISPLAY)
        for name in ("A", "Z", "mask.r"):
            np.testing.assert_array_equal(bits(result.channels[name]), bits(plate.channels[name]))
        for name in "RGB":
            np.testing.assert_array_equal(bits(result.channels[name])[outside],
                                          bits(plate.channels[name])[outside])
        for a in ("Copyright", "framesPerSecond", "worldToCamera", "shot:frame", "compression"):
            assert result.attribute(a) == plate.attribute(a), a
        # inside: Algorithm 1 under the disk's hard core, laid over with the soft alpha
        t = torch.from_numpy(plate.rgb()).permute(2, 0, 1)[None]
        s = torch.from_numpy(np.stack([face_source()[c] for c in "RGB"], -1)
                             .astype(np.float32)).permute(2, 0, 1)[None]
        hard = torch.from_numpy((alpha > 0.5).astype(np.float32))[None, None]
        want = multiband_blend(s, t, hard, plate_levels=2, mask_sigma=2.0)
        want = (t + torch.from_numpy(alpha)[None, None] * (want - t))[0].permute(1, 2, 0)
        np.testing.assert_allclose(result.rgb(), want.numpy().astype(np.float16), rtol=2e-3,
                                   atol=2e-3)
    # the source's detail over the plate's light
    core = alpha == 1
    g, g_plate = result.rgb()[..., 1], plate.rgb()[..., 1]
    high = np.abs(g - ndimage.gaussian_filter(g, 2.0))[core].mean()
    assert high > 0.5 * np.abs(face_source()["G"] - 0.5).mean()
    low = ndimage.gaussian_filter(g, 12.0)[core] - ndimage.gaussian_filter(g_plate, 12.0)[core]
    assert np.abs(low).mean() < 0.15 * np.abs(g_plate[core] - 0.5).mean()


def test_frames_a_still_mask_a_named_channel_and_output_alpha(shot, tmp_path, capsys):
    still = tmp_path / "still.exr"
    write_exr(still, {"Y": np.zeros((H, W), np.float32), "matte": disk(DATA, radius=30)})
    out = tmp_path / "c.%04d.exr"
    assert blend(shot, out, "--frames", "1002-1003", "--output-alpha", "--edge-feather", "0",
                 mask=still, **{"mask-channel": "matte"}) == 0
    assert "2 written" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.glob("c.*")) == ["c.1002.exr", "c.1003.exr"]
    alpha = read_image(tmp_path / "c.1002.exr").part.channels["A"]
    np.testing.assert_array_equal(alpha.astype(np.float32), disk(DATA, radius=30))


def test_the_mask_channel_defaults_to_a_else_the_first(shot, tmp_path):
    no_alpha = tmp_path / "y.exr"
    write_exr(no_alpha, {"Y": disk(DATA), "Z": np.ones((H, W), np.float32)})
    with_alpha = tmp_path / "a.exr"
    write_exr(with_alpha, {"A": disk(DATA), "Y": np.ones((H, W), np.float32)})
    results = []
    for mask in (no_alpha, with_alpha):
        out = tmp_path / f"{mask.stem}.####.exr"
        assert blend(shot, out, "--frames", "1001", "--output-alpha", mask=mask) == 0
        results.append(read_image(frame_path(out, 1001)).part.channels["A"])
    np.testing.assert_array_equal(results[0], results[1])  # the disk both times, not Z or Y
    assert 0 < results[0].astype(np.float32).mean() < 0.5


def test_an_unknown_mask_channel_is_named(shot, tmp_path, capsys, caplog):
    assert blend(shot, tmp_path / "c.####.exr", "--frames", "1001",
                 **{"mask-channel": "roto"}) == 1
    assert "1 failed: frames 1001" in capsys.readouterr().out
    assert "no channel 'roto'; the file has B, A" in caplog.text
    assert "roto.1001.exr, frame 1001" in caplog.text
    assert not list(tmp_path.glob("c.*"))


def test_sizes_that_differ_are_named(shot, tmp_path, caplog):
    write_exr(tmp_path / "small.1001.exr", face_source(), display=Box(0, 0, 1920, 1080))
    code = blend(shot, tmp_path / "c.####.exr", "--frames", "1001",
                 source=tmp_path / "small.####.exr")
    assert code == 1
    assert "image is 1920x1080+0+0, the plate is 296x164+0+0" in caplog.text
    assert "small.1001.exr, frame 1001" in caplog.text


def test_missing_frames_fail_alone(shot, tmp_path, capsys, caplog):
    faces = tmp_path / "faces"
    for f in (1001, 1003):
        write_exr(faces / f"face.{f}.exr", face_source())
    out = tmp_path / "out" / "c.####.exr"
    code = blend(shot, out, source=faces / "face.####.exr")
    assert code == 1
    captured = capsys.readouterr()
    assert "2 written" in captured.out and "1 failed: frames 1002" in captured.out
    assert "file not found (file " in caplog.text and "face.1002.exr, frame 1002" in caplog.text
    assert sorted(p.name for p in out.parent.iterdir()) == ["c.1001.exr", "c.1003.exr"]
    # a re-run skips what is done and still names the missing frame
    assert blend(shot, out, source=faces / "face.####.exr") == 1
    assert "2 skipped" in capsys.readouterr().out


def test_eight_bit_images_blend_in_their_own_pixel_type(tmp_path):
    rng = np.random.default_rng(0)
    plate = (0.3 + 0.4 * np.linspace(0, 1, 96)[None, :, None] * np.ones((64, 96, 3)))
    face = np.clip(0.5 + 0.2 * rng.standard_normal((64, 96, 3)), 0, 1)
    mask = disk(Box(0, 0, 96, 64), centre=(48, 32), radius=20)
    write_image(Image.from_array(plate, dtype=np.uint8), tmp_path / "t.png")
    write_image(Image.from_array(face, dtype=np.uint8), tmp_path / "s.png")
    write_image(Image.from_array(mask, ("Y",), dtype=np.uint8), tmp_path / "m.png")
    code = main(["blend", "--source", str(tmp_path / "s.png"), "--target",
                 str(tmp_path / "t.png"), "--mask", str(tmp_path / "m.png"), "--out",
                 str(tmp_path / "o.png"), "--edge-feather", "1"])
    assert code == 0
    out = read_image(tmp_path / "o.png").part
    before = read_image(tmp_path / "t.png").part
    inside, outside = mask > 0 & (ndimage.binary_erosion(mask, iterations=5)), \
        ~ndimage.binary_dilation(mask > 0, iterations=5)
    assert out.channels["R"].dtype == np.uint8
    np.testing.assert_array_equal(out.channels["G"][outside], before.channels["G"][outside])
    change = np.abs(out.channels["G"].astype(int) - before.channels["G"].astype(int))[inside]
    assert change.mean() > 10  # the source's noise, in 0..255, not values cast to 0 or 1
