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
from faceswap_vfx.model.nuke_targets import (
    TARGETS,
    missing_operators,
    script_operators,
    target_for,
)
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


# --- Nuke targets: the operators of the libtorch each Nuke embeds -----------------------
def test_export_uses_only_operators_every_nuke_libtorch_has(model):
    scripted = export_torchscript(model, "bob")
    ops = script_operators(scripted)
    assert "aten::_upsample_bilinear2d_aa" in ops and "aten::_convolution" in ops  # nested too
    for name, target in TARGETS.items():
        assert missing_operators(scripted, target) == [], name


def test_the_operator_check_finds_what_an_old_libtorch_lacks():
    """F.interpolate, scripted, carries every mode's operator: torch 2.13's lanczos one is
    unknown to the 2.1.1 in Nuke 15.1-17 (the load failure Nuke reported)."""

    class Resize(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return F.interpolate(x, size=(8, 8), mode="bilinear", antialias=True)

    missing = missing_operators(torch.jit.script(Resize()), target_for("15.1"))
    assert "aten::_upsample_lanczos2d_aa.vec" in missing


def test_nuke_versions_map_to_their_libtorch():
    assert [target_for(v).libtorch for v in ("14", "14.1", "15.0", "15.1", "15.2", "16.0",
                                             "17")] == ["1.12.1"] * 3 + ["2.1.1"] * 4
    for bad in ("13.2", "fifteen", ""):
        with pytest.raises(ParameterError, match="Nuke"):
            target_for(bad)


def test_half_precision_module_takes_and_gives_half(model):
    """Nuke's "Optimize for Speed and Memory" calls .half() and feeds half tensors."""
    scripted = export_torchscript(model, "alice")
    plate = torch.rand(1, 4, 20, 24)
    with torch.no_grad():
        want = scripted(plate)
        scripted.half()
        got = scripted(plate.half())
    assert got.dtype == torch.float16 and got.shape == want.shape
    torch.testing.assert_close(got.float(), want, rtol=0, atol=5e-3)


def test_cli_export_for_a_nuke_writes_the_cattery_description(model, tmp_path, capsys):
    state = ck.Checkpoint(MODEL, TrainConfig(), IDS, "srgb_tx", 2, 1.0, 999, 9,
                          model.state_dict(), None)
    ck.save_checkpoint(state, ck.checkpoint_path(tmp_path / "run", 999))
    folder = tmp_path / "Cattery" / "faces"
    assert main(["export", str(tmp_path / "run"), "--identity", "bob", "--out",
                 str(folder / "bob.pt"), "--nuke", "14"]) == 0
    meta = json.loads((folder / "bob.json").read_text())
    assert (meta["libtorch"], meta["channels_in"]) == ("1.12.1", "rgba.red,rgba.green,rgba.blue")
    cat = json.loads((folder / "cat.json").read_text())
    assert cat["minimum_nuke_version_required"] == 14.0
    assert cat["cats"] == [{"filepath": "bob.cat", "name": "bob", "icon": ""}]
    assert main(["export", str(tmp_path / "run"), "--identity", "alice", "--out",
                 str(folder / "alice.pt"), "--nuke", "15.1"]) == 0
    cat = json.loads((folder / "cat.json").read_text())
    assert [c["name"] for c in cat["cats"]] == ["bob", "alice"]
    assert cat["minimum_nuke_version_required"] == 15.1
    assert main(["export", str(tmp_path / "run"), "--identity", "bob", "--out",
                 str(tmp_path / "x.pt"), "--nuke", "13"]) == 1
    assert "not a supported target" in capsys.readouterr().err and not (tmp_path / "x.pt").exists()
