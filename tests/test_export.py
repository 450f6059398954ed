"""TorchScript export for Nuke's CatFileCreator: same numbers as the eager network."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from faceswap_vfx.cli.main import main
from faceswap_vfx.errors import ParameterError
from faceswap_vfx.model.comb import CombNetwork
from faceswap_vfx.model.config import CombConfig
from faceswap_vfx.model.export import export_level, export_torchscript, swap_module
from faceswap_vfx.model.layers import upsample
from faceswap_vfx.train import checkpoint as ck
from faceswap_vfx.train.config import TrainConfig

torch.set_num_threads(1)
pytestmark = pytest.mark.filterwarnings(
    r"ignore:`torch\.jit\.\w+` is deprecated:DeprecationWarning")

MODEL = CombConfig(max_resolution=16, width=1 / 32, latent=16, split_level=0)
IDS = ("alice", "bob")


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    net = CombNetwork(MODEL, IDS, level=2)
    with torch.no_grad():  # move the weights off their initial values a little
        for p in net.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return net


def test_exported_module_matches_the_eager_model(model, tmp_path):
    x = torch.rand(1, 3, 16, 16)
    scripted = export_torchscript(model, "bob")
    with torch.no_grad():
        want = model(x, "bob")
    torch.testing.assert_close(scripted(x), want, rtol=0, atol=1e-6)
    torch.jit.save(scripted, str(tmp_path / "bob.pt"))
    loaded = torch.jit.load(str(tmp_path / "bob.pt"))
    torch.testing.assert_close(loaded(x), want, rtol=0, atol=1e-6)
    torch.testing.assert_close(loaded(torch.cat([x, x])), torch.cat([want, want]), rtol=0,
                               atol=1e-6)
    assert not torch.allclose(scripted(x), export_torchscript(model, "alice")(x))


def test_normalisation_happens_inside_forward(model):
    scripted = export_torchscript(model, "alice")
    plate = torch.rand(1, 4, 24, 20) * 3 - 1  # RGBA, HDR and negative values, another size
    plate[0, 0, 0, 0] = float("nan")
    out = scripted(plate)
    assert out.shape == (1, 3, 24, 20) and torch.isfinite(out).all()
    rgb = torch.nan_to_num(plate[:, :3], nan=0.0).clamp(0, 1)
    small = F.interpolate(rgb, size=(16, 16), mode="bilinear", antialias=True)
    with torch.no_grad():
        want = F.interpolate(model(small, "alice"), size=(24, 20), mode="bilinear",
                             antialias=True)
    torch.testing.assert_close(out, want, rtol=0, atol=1e-6)
    with pytest.raises(torch.jit.Error, match="C >= 3"):
        scripted(torch.rand(1, 1, 16, 16))


def test_mid_fade_exports_the_level_below(model):
    assert export_level(model, 0.5) == 1 and export_level(model, 1.0) == 2
    lower = swap_module(model, "bob", level=1)
    assert lower.resolution == 8
    x = torch.rand(2, 3, 16, 16)
    with torch.no_grad():  # at alpha = 0 the network is the level below, upsampled
        torch.testing.assert_close(upsample(lower(F.avg_pool2d(x, 2))), model(x, "bob", 0.0),
                                   rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match="can export level 2 or 1"):
        swap_module(model, "bob", level=0)


def test_unknown_identity_is_a_named_error(model):
    with pytest.raises(ParameterError, match="unknown identity 'carol'; the model has alice, bob"):
        export_torchscript(model, "carol")


def test_cli_export_writes_module_and_sidecar(model, tmp_path, capsys):
    state = ck.Checkpoint(MODEL, TrainConfig(), IDS, "srgb_tx", 2, 1.0, 999, 9,
                          model.state_dict(), None)
    path = ck.save_checkpoint(state, ck.checkpoint_path(tmp_path / "run", 999))
    out = tmp_path / "out" / "bob.pt"
    assert main(["export", str(tmp_path / "run"), "--identity", "bob", "--out", str(out)]) == 0
    meta = json.loads(out.with_suffix(".json").read_text())
    assert {k: meta[k] for k in ("format", "version", "identity", "resolution", "colorspace",
                                 "level", "images_seen")} == {
        "format": "faceswap_vfx.export", "version": 1, "identity": "bob", "resolution": 16,
        "colorspace": "srgb_tx", "level": 2, "images_seen": 999}
    assert meta["checkpoint"] == str(path.resolve())
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(torch.jit.load(str(out))(x), model(x, "bob"), rtol=0,
                                   atol=1e-6)
    assert main(["export", str(path), "--identity", "carol", "--out", str(out)]) == 1
    assert "unknown identity 'carol'" in capsys.readouterr().err


def test_render_model_source_runs_channels_last_with_the_eager_numbers(model, tmp_path):
    """The render's generate (checkpoint and export) runs the network in channels-last
    memory (oneDNN's faster NHWC convolutions) and gives the eager NCHW model's numbers."""
    from faceswap_vfx.render.model_source import load_swap_model

    state = ck.Checkpoint(MODEL, TrainConfig(), IDS, "srgb_tx", 2, 1.0, 999, 9,
                          model.state_dict(), None)
    ck.save_checkpoint(state, ck.checkpoint_path(tmp_path / "run", 999))
    out = tmp_path / "bob.pt"
    assert main(["export", str(tmp_path / "run"), "--identity", "bob", "--out", str(out)]) == 0
    x = torch.rand(2, 3, 16, 16)
    with torch.no_grad():
        want = model(x, "bob")
    for source in (tmp_path / "run", out):
        swap = load_swap_model(source, "bob")
        got = swap.generate(x)
        torch.testing.assert_close(got, want, rtol=0, atol=1e-5)
        assert got.is_contiguous(memory_format=torch.channels_last), source
