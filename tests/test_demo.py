"""The README's main job: ``faceswap-vfx demo``, with the shipped model and with training."""

import numpy as np

from faceswap_vfx.cli.main import main
from faceswap_vfx.demo import SHIPPED_MODEL, run_demo, train_demo_model
from faceswap_vfx.io.image import read_image
from faceswap_vfx.render.frame import MASK_CHANNEL


def bits(a):
    return a.view(np.dtype(f"u{a.dtype.itemsize}"))


def check_demo_output(out, frames):
    for frame in frames:
        plate = read_image(out / "plate" / f"plate.{frame}.exr").part
        swap = read_image(out / "swap" / f"swap.{frame}.exr").part
        alpha = swap.channels[MASK_CHANNEL].astype(np.float32)
        assert alpha.max() == 1.0, f"frame {frame}: no face swapped"
        outside = alpha == 0
        for name in ("R", "G", "B"):
            np.testing.assert_array_equal(bits(swap.channels[name])[outside],
                                          bits(plate.channels[name])[outside])
        for name in ("A", "Z", "mask.r"):
            np.testing.assert_array_equal(bits(swap.channels[name]), bits(plate.channels[name]))
        inside = alpha > 0.99
        change = np.abs(swap.channels["G"].astype(np.float32) - plate.channels["G"]
                        .astype(np.float32))[inside].mean()
        assert change > 1e-3, f"frame {frame}: the face did not change"
    sheet = read_image(out / "contact_sheet.png").part.rgb()
    assert sheet.shape[0] > 100 and sheet.std() > 0.05  # not blank


def test_demo_with_the_shipped_model(tmp_path, capsys):
    assert (SHIPPED_MODEL / "config.json").is_file()
    frames = list(range(1001, 1005))
    run_demo(tmp_path, frames=frames)
    check_demo_output(tmp_path, frames)
    assert "contact sheet" in capsys.readouterr().out


def test_demo_command_help_and_bad_model(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--model", str(tmp_path / "nope")]) == 1
    assert "model not found" in capsys.readouterr().err


def test_demo_trains_its_own_model(tmp_path):
    run = train_demo_model(tmp_path / "train", resolution=16, width=1 / 32, latent=16,
                           images_per_level=64, extra_images=0, batch=2)
    frames = [1001, 1002]
    run_demo(tmp_path / "demo", model=run, frames=frames)
    check_demo_output(tmp_path / "demo", frames)
