"""The render's rewrite of the swap module: the same values as the network it was built from."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from faceswap_vfx.model import inference
from faceswap_vfx.model.comb import CombNetwork
from faceswap_vfx.model.config import CombConfig
from faceswap_vfx.model.export import export_torchscript, sidecar, swap_module
from faceswap_vfx.model.inference import (
    PointConv,
    UpConv3x3,
    inference_module,
    transposed_weights,
)
from faceswap_vfx.model.layers import upsample
from faceswap_vfx.render.model_source import load_swap_model

torch.set_num_threads(1)
pytestmark = pytest.mark.filterwarnings(
    r"ignore:`torch\.jit\.\w+` is deprecated:DeprecationWarning")

MODEL = CombConfig(max_resolution=32, width=1 / 16, latent=24, split_level=1)


def network(level: int) -> CombNetwork:
    torch.manual_seed(level)
    net = CombNetwork(MODEL, ("ann", "bo"), level=level)
    with torch.no_grad():  # weights off their initial values, outputs away from saturation
        for p in net.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return net


@pytest.mark.parametrize("level", [0, 1, 3])
@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_rewrite_matches_the_swap_module(level, layout):
    module = swap_module(network(level), "bo")
    fast = inference_module(module.state_dict(), module.resolution)
    r = module.resolution
    x = torch.rand(2, 3, r, r).contiguous(memory_format=layout)
    plate = torch.rand(1, 4, r + 5, r + 2) * 3 - 1  # RGBA, HDR, negative: cleaned, resized
    plate[0, 1, 2, 3] = float("nan")
    fast, module = fast.to(memory_format=layout), module.to(memory_format=layout)
    with torch.no_grad():
        want = module(x)
        assert want.std() > 0.02  # the test could tell a wrong layer from a right one
        torch.testing.assert_close(fast(x), want, rtol=0, atol=2e-5)
        torch.testing.assert_close(fast(plate), module(plate), rtol=0, atol=2e-5)


def test_rewrite_of_a_torchscript_export():
    net = network(2)
    scripted = export_torchscript(net, "ann")
    fast = inference_module(scripted.state_dict(), 16)
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(fast(x), scripted(x), rtol=0, atol=2e-5)


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("shape", [(1, 5, 4, 4), (2, 3, 6, 9), (1, 8, 1, 1)])
@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_transposed_convolution_is_upsample_then_conv(shape, layout, fused, monkeypatch):
    monkeypatch.setattr(inference, "_FUSED", fused and inference._FUSED)
    torch.manual_seed(1)
    weight, bias = torch.randn(7, shape[1], 3, 3), torch.randn(7)
    x = torch.randn(shape).contiguous(memory_format=layout)
    want = F.leaky_relu(F.conv2d(upsample(x), weight, bias, padding=1), 0.2)
    with torch.no_grad():
        torch.testing.assert_close(UpConv3x3(weight, bias)(x), want, rtol=0, atol=1e-5)
    assert transposed_weights(weight).shape == (shape[1], 7, 4, 4)


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("act", ["leaky", "sigmoid"])
@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_point_convolution_is_a_1x1_conv_then_its_activation(act, layout, fused,
                                                              monkeypatch):
    monkeypatch.setattr(inference, "_FUSED", fused and inference._FUSED)
    torch.manual_seed(2)
    weight, bias = torch.randn(5, 3, 1, 1), torch.randn(5)
    x = torch.randn(2, 3, 6, 7).contiguous(memory_format=layout)
    y = F.conv2d(x, weight, bias)
    want = torch.sigmoid(y) if act == "sigmoid" else F.leaky_relu(y, 0.2)
    with torch.no_grad():
        torch.testing.assert_close(PointConv(weight, bias, act)(x), want, rtol=0, atol=1e-6)


def test_transposed_weights_sum_the_taps_of_each_input_pixel():
    weight = torch.arange(9.0).reshape(1, 1, 3, 3)  # rows 0 1 2 / 3 4 5 / 6 7 8
    k = transposed_weights(weight)[0, 0]
    # output (2i, 2j) (phase 0, 0) takes kernel rows 3 (input row i-1: kernel row 0) and 1
    # (row i: kernel rows 1 + 2); columns alike
    assert [[k[3, 3], k[3, 1]], [k[1, 3], k[1, 1]]] == [[0.0, 1 + 2], [3 + 6, 4 + 5 + 7 + 8]]
    # phase (1, 1): kernel rows 2 (row i: kernel rows 0 + 1) and 0 (row i+1: kernel row 2)
    assert [[k[2, 2], k[2, 0]], [k[0, 2], k[0, 0]]] == [[0 + 1 + 3 + 4, 2 + 5], [6 + 7, 8.0]]


@pytest.mark.skipif(not inference._FUSED, reason="this torch has no oneDNN fused operators")
def test_the_fused_path_gives_the_unfused_values(monkeypatch):
    module = swap_module(network(3), "bo")
    x = torch.rand(2, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    fast = inference_module(module.state_dict(), module.resolution)
    with torch.no_grad():
        fused = fast(x)
        monkeypatch.setattr(inference, "_FUSED", False)
        torch.testing.assert_close(fused, fast(x), rtol=0, atol=1e-6)


def test_autograd_takes_the_unfused_path():
    weight, bias = torch.randn(4, 3, 3, 3), torch.randn(4)
    x = torch.randn(1, 3, 5, 5, requires_grad=True)
    y = UpConv3x3(weight, bias)(x)
    y.sum().backward()  # the fused operators have no backward: x would get no gradient
    assert x.grad is not None and x.grad.abs().sum() > 0


def bad_states():
    state = swap_module(network(1), "bo").state_dict()
    missing = {k: v for k, v in state.items() if k != "decoder.1.conv2.bias"}
    wrong_kernel = dict(state, **{"encoder.1.conv1.weight": torch.zeros(2, 2, 5, 5)})
    extra = dict(state, scale=torch.ones(1))
    gap = {k.replace("decoder.2.", "decoder.3."): v for k, v in state.items()}
    return {"missing": missing, "wrong kernel": wrong_kernel, "extra": extra, "gap": gap,
            "empty": {}}


@pytest.mark.parametrize("name", sorted(bad_states()))
def test_weights_of_another_layout_are_refused(name):
    with pytest.raises(ValueError):
        inference_module(bad_states()[name], 8)


class OtherNetwork(torch.nn.Module):
    """An export of another layout: a 3x3 conv and a sigmoid."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.conv(x[:, :3]))


def test_render_runs_an_export_of_another_layout_as_it_is(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "other.pt"
    scripted = torch.jit.script(OtherNetwork())
    scripted.save(str(path))
    meta = sidecar(network(1), "ann", 1, "srgb_tx")
    path.with_suffix(".json").write_text(json.dumps(meta))
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        want = scripted(x)  # NCHW here, channels-last in the render: rounding apart
    torch.testing.assert_close(load_swap_model(path, "ann").generate(x), want, rtol=0,
                               atol=1e-6)


def test_render_runs_the_rewrite_of_an_export(tmp_path):
    net = network(1)
    path = tmp_path / "ann.pt"
    scripted = export_torchscript(net, "ann")
    scripted.save(str(path))
    path.with_suffix(".json").write_text(json.dumps(sidecar(net, "ann", 1, "srgb_tx")))
    x = torch.rand(1, 3, 8, 8)
    got = load_swap_model(path, "ann").generate(x)
    with torch.no_grad():
        want = scripted(x)
        torch.testing.assert_close(got, want, rtol=0, atol=2e-5)
        # the rewrite is what ran: its sums round differently somewhere in the image
        assert not torch.equal(got, want)
