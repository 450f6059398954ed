"""Latent tools: interpolation, nearest neighbours, direction files, the latent edit module."""

from __future__ import annotations

import json

import pytest
import torch
from eval_fixtures import IDS, smooth_images, tiny_network, tiny_run

from faceswap_vfx.errors import ModelFileError
from faceswap_vfx.eval import latent as L
from faceswap_vfx.eval.network import load_network
from faceswap_vfx.model.direction import (
    DIRECTION_VERSION,
    LatentDirection,
    LatentEdit,
    direction_from_json,
    encoder_fingerprint,
    mean_difference,
    read_direction,
)
from faceswap_vfx.model.export import export_torchscript, swap_module

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    return load_network(tiny_run(tmp_path_factory.mktemp("run")))


def test_network_matches_the_comb_model(net):
    model = tiny_network()
    x = smooth_images(3, 16, 1)
    with torch.no_grad():
        for ident in IDS:
            torch.testing.assert_close(net.decode(net.encode(x), ident), model(x, ident))
    assert net.identities == IDS and net.latent_bytes == 32 and net.resolution == 16


def test_interpolation_is_the_straight_line_between_anchor_latents(net):
    anchors = smooth_images(2, 16, 2)
    lerp = L.interpolate(net, anchors)
    torch.testing.assert_close(lerp.lambdas, torch.linspace(0, 1, 9))
    z = net.encode(anchors)
    for ident in IDS:
        row = lerp.rows[ident]
        assert row.shape == (9, 3, 16, 16)
        torch.testing.assert_close(row[0], net.decode(z[:1], ident)[0])
        torch.testing.assert_close(row[-1], net.decode(z[1:], ident)[0])
        torch.testing.assert_close(row[4], net.decode(z.mean(0, keepdim=True), ident)[0])
        assert lerp.smoothness[ident] >= 1.0
    with pytest.raises(ValueError, match="at least 2"):
        L.lambdas(1)


def test_farthest_pair():
    z = torch.tensor([[0.0, 0], [1, 0], [5, 5], [0, 1]])
    assert L.farthest_pair(z) == (0, 2)


def test_masked_distances_and_nearest_neighbours(net):
    gen = smooth_images(3, 16, 3)
    pool = smooth_images(5, 16, 4)
    masks = (torch.rand(3, 1, 16, 16, generator=torch.Generator().manual_seed(0)) > 0.5).float()
    d = L.masked_distances(gen, masks, pool, chunk=2)
    for i in range(3):
        for j in range(5):
            w = masks[i].expand(3, -1, -1)
            ref = (((gen[i] - pool[j]) ** 2 * w).sum() / w.sum()).sqrt()
            assert d[i, j] == pytest.approx(float(ref), abs=1e-6)
    x = smooth_images(2, 16, 5)
    generated = net.decode(net.encode(x), "bob")
    train = torch.cat([pool[:2], generated[1:], pool[2:]])  # bob's "training set" holds a copy
    ones = torch.ones(2, 1, 16, 16)
    nn = L.nearest_neighbours(net, x, ones, "alice", "bob", train,
                              torch.ones(len(train), 1, 16, 16), [f"t{i}" for i in range(6)])
    assert nn.index[1] == 2 and nn.distance[1] < 1e-6 and nn.distance[0] > 0
    assert len(nn.train_loo) == 6 and nn.to_json()["nearest"][1] == "t2"


def test_direction_is_the_mean_latent_difference_and_round_trips(net, tmp_path):
    a, b = smooth_images(3, 16, 6), smooth_images(4, 16, 7)
    d = L.expression_direction(net, a, b, "smile", {"from": "a", "to": "b"})
    torch.testing.assert_close(d.vector, (net.encode(b).mean(0) - net.encode(a).mean(0)).flatten())
    assert d.encoder == encoder_fingerprint(net.encoder) and d.counts == (3, 4)
    path = L.save_direction(d, tmp_path / "smile.direction.json")
    back = read_direction(path)
    torch.testing.assert_close(back.vector, d.vector)
    assert (back.name, back.encoder, back.counts, back.resolution) == ("smile", d.encoder, (3, 4),
                                                                        16)
    edits = L.apply_direction(net, a, d, [0.0, 1.0], "alice")
    torch.testing.assert_close(edits[0], net.decode(net.encode(a), "alice"))
    torch.testing.assert_close(edits[1], net.decode(net.encode(a) + d.vector.view(1, -1, 1, 1),
                                                    "alice"))
    with pytest.raises(ValueError, match="two non-empty groups"):
        mean_difference(torch.zeros(0, 16), torch.zeros(2, 16))


@pytest.mark.parametrize(("change", "why"), [
    ({"format": "other"}, "not a faceswap_vfx.latent_direction"),
    ({"version": DIRECTION_VERSION + 1}, "newer faceswap_vfx"),
    ({"version": "1"}, "not a positive integer"),
    ({"vector": [1.0, float("nan")], "latent": 2}, "finite numbers"),
    ({"latent": 3}, "holds 2 values"),
])
def test_bad_direction_files_are_named_errors(tmp_path, change, why):
    body = json.loads(LatentDirection(torch.tensor([1.0, 2.0])).to_json())
    body.update(change)
    path = tmp_path / "bad.direction.json"
    path.write_text(json.dumps(body))
    with pytest.raises(ModelFileError, match=why) as err:
        read_direction(path)
    assert str(path) in str(err.value)
    with pytest.raises(ModelFileError, match="not found"):
        read_direction(tmp_path / "missing.json")
    with pytest.raises(ModelFileError, match="not JSON"):
        direction_from_json("{", "x.json")


def test_latent_edit_follows_the_swap_module_contract():
    """Zero offset: the swap module's output exactly, eager and TorchScript, at any input
    size; an offset: the decoder of the moved latent."""
    model = tiny_network()
    module = swap_module(model, "bob")
    scripted = export_torchscript(model, "bob")
    assert encoder_fingerprint(module.encoder) == encoder_fingerprint(scripted.encoder)
    x = smooth_images(2, 16, 8)
    big = torch.nn.functional.interpolate(x, size=24, mode="bilinear")
    for m in (module, scripted):
        zero = LatentEdit(m.encoder, m.decoder, 16, torch.zeros(16))
        with torch.no_grad():
            assert torch.equal(zero(x), m(x)) and torch.equal(zero(big), m(big))
    off = torch.linspace(-1, 1, 16)
    edit = LatentEdit(scripted.encoder, scripted.decoder, 16, off)
    with torch.no_grad():
        torch.testing.assert_close(edit(x), model.decode(model.encode(x) + off.view(1, -1, 1, 1),
                                                         "bob"))
        with pytest.raises(ValueError, match="latent is"):
            LatentEdit(module.encoder, module.decoder, 16, torch.zeros(5))(x)
