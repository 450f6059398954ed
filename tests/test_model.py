"""The comb network at tiny width: shapes, fade-in, growth, heads vs trunk, checkpoints."""

from __future__ import annotations

import pytest
import torch

from faceswap_vfx.errors import ParameterError
from faceswap_vfx.model.comb import CombNetwork
from faceswap_vfx.model.config import CombConfig
from faceswap_vfx.model.layers import downsample, upsample

torch.set_num_threads(1)

CFG = CombConfig(max_resolution=32, width=1 / 32, latent=16, split_level=1)  # levels 0..3
IDS = ["alice", "bob"]


def net(level: int = 0, cfg: CombConfig = CFG, seed: int = 0) -> CombNetwork:
    torch.manual_seed(seed)
    return CombNetwork(cfg, IDS, level=level)


def images(resolution: int, batch: int = 2, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(batch, 3, resolution, resolution, generator=g)


def test_shapes_at_every_level() -> None:
    cfg = CombConfig(max_resolution=64, width=1 / 32, latent=16)
    model = net(0, cfg)
    for level in range(cfg.max_level + 1):
        r = 4 * 2**level
        assert (model.level, model.resolution) == (level, r)
        x = images(r)
        z = model.encode(x, alpha=0.5)
        assert z.shape == (2, 16, 1, 1)
        y = model.decode(z, "bob", alpha=0.5)
        assert y.shape == (2, 3, r, r) and 0.0 <= y.min() and y.max() <= 1.0
        with pytest.raises(ValueError, match=f"\\(B, 3, {r}, {r}\\)"):
            model(images(2 * r), "alice")
        if level < cfg.max_level:
            model.grow()
    with pytest.raises(ValueError, match="last level"):
        model.grow()


def test_resampling_is_box_down_nearest_up() -> None:
    x = images(8)
    torch.testing.assert_close(downsample(x), x.unfold(2, 2, 2).unfold(3, 2, 2).mean((-1, -2)))
    assert torch.equal(upsample(x), x.repeat_interleave(2, 2).repeat_interleave(2, 3))


def test_fade_in_starts_exactly_at_the_upsampled_old_output() -> None:
    model = net()
    for level in range(CFG.max_level):
        x = images(8 * 2**level)  # the next level's resolution
        with torch.no_grad():
            before = {i: model(downsample(x), i) for i in IDS}
            z_before = model.encode(downsample(x))
            model.grow()
            assert torch.equal(model.encode(x, alpha=0.0), z_before)
            for i in IDS:
                after = model(x, i, alpha=0.0)
                torch.testing.assert_close(after, upsample(before[i]), rtol=0, atol=1e-6)
                assert (model(x, i, alpha=1.0) - upsample(before[i])).abs().max() > 1e-3
                mid = model(x, i, alpha=0.5)
                assert not torch.allclose(mid, after)
                assert not torch.allclose(mid, upsample(before[i]))


def rgb_keys(model: CombNetwork) -> dict[str, set[str]]:
    return {"encoder": set(model.encoder.from_rgb), "trunk": set(model.trunk.to_rgb),
            **{i: set(model.heads[i].to_rgb) for i in IDS}}


def test_grow_keeps_only_the_last_two_rgb_layers() -> None:
    model = net()
    expected = [  # per level: encoder from-RGB, trunk to-RGB, each head's to-RGB (split 1)
        ({"0"}, {"0"}, set()),
        ({"0", "1"}, {"0", "1"}, set()),
        ({"1", "2"}, {"1"}, {"2"}),
        ({"2", "3"}, set(), {"2", "3"}),
    ]
    for level, (enc, trunk, head) in enumerate(expected):
        model.grow_to(level)
        assert rgb_keys(model) == {"encoder": enc, "trunk": trunk, "alice": head, "bob": head}


def test_checkpoint_at_a_level_loads_into_a_model_built_at_that_level() -> None:
    model = net(0, seed=3)
    for _ in range(2):  # grow step by step, as training does
        model.grow()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    fresh = net(2, seed=4)  # other random weights
    assert fresh.state_dict().keys() == state.keys()
    fresh.load_state_dict(state)  # strict
    x = images(16)
    with torch.no_grad():
        torch.testing.assert_close(fresh(x, "bob", 0.3), model(x, "bob", 0.3), rtol=0, atol=0)
    with pytest.raises(RuntimeError):
        net(3).load_state_dict(state)


def test_heads_are_per_identity_and_trunk_is_shared() -> None:
    model = net(3)
    x = images(32)
    with torch.no_grad():
        assert (model(x, "alice") - model(x, "bob")).abs().max() > 1e-4
    model(x, "alice", alpha=0.5).mean().backward()  # alpha < 1: the old RGB layers take part
    assert all(p.grad is None for p in model.heads["bob"].parameters())
    for part in (model.heads["alice"], model.trunk, model.encoder):
        grads = [p.grad for p in part.parameters()]
        assert grads and all(g is not None for g in grads)
        assert sum(g.abs().sum() for g in grads) > 0
    shared = {id(p) for p in model.shared_parameters()}
    assert shared.isdisjoint(id(p) for i in IDS for p in model.head_parameters(i))
    assert shared == {id(p) for m in (model.encoder, model.trunk) for p in m.parameters()}


@pytest.mark.parametrize("split", [-1, 0, 1, 2])
def test_split_level_decides_which_levels_are_shared(split: int) -> None:
    cfg = CombConfig(max_resolution=32, width=1 / 32, latent=16, split_level=split)
    model = net(0, cfg)
    for level in range(cfg.max_level + 1):
        model.grow_to(level)
        x = images(model.resolution)
        with torch.no_grad():
            same = torch.equal(model(x, "alice"), model(x, "bob"))
        assert same == (level <= split), level
    assert set(model.trunk.blocks) == {str(lv) for lv in range(split + 1)}
    for i in IDS:
        assert set(model.heads[i].blocks) == {str(lv) for lv in range(split + 1, 4)}


def test_a_few_optimisation_steps_reduce_the_loss() -> None:
    from faceswap_vfx.model.losses import ReconstructionLoss

    model = net(2, seed=5)
    loss_fn = ReconstructionLoss({"l1": 1.0, "ssim": 0.5}, background_weight=0.5)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 16), torch.linspace(0, 1, 16), indexing="ij")
    batch = {"alice": torch.stack([xx, yy, xx * yy])[None].repeat(4, 1, 1, 1) * 0.8 + 0.1,
             "bob": torch.stack([1 - yy, xx, 0.5 + 0 * xx])[None].repeat(4, 1, 1, 1)}
    batch = {k: v + 0.05 * images(16, 4, seed=j) for j, (k, v) in enumerate(batch.items())}
    mask = (xx - 0.5).pow(2).add((yy - 0.5).pow(2)).lt(0.15).float()[None, None].repeat(4, 1, 1, 1)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    first, last = {}, {}
    for _ in range(30):
        for i in IDS:
            loss = loss_fn(model(batch[i], i, alpha=0.7), batch[i], mask)
            opt.zero_grad()
            loss.backward()
            opt.step()
            first.setdefault(i, loss.item())
            last[i] = loss.item()
    for i in IDS:
        assert last[i] < 0.7 * first[i], (i, first[i], last[i])


def test_swap_is_batched_inference_in_the_crops_dtype() -> None:
    model = net(2)
    crops = images(16, batch=5).double()
    with torch.no_grad():
        expected = model(crops.float(), "bob")
    out = model.swap(crops, "bob", batch_size=2)
    assert out.dtype == torch.float64 and out.shape == crops.shape and not out.requires_grad
    torch.testing.assert_close(out.float(), expected, rtol=0, atol=1e-6)
    torch.testing.assert_close(model.swap(crops, "bob").float(), expected, rtol=0, atol=1e-6)
    bf16 = model.swap(crops.float(), "bob", bf16=True)
    torch.testing.assert_close(bf16, expected, rtol=0, atol=0.05)
    assert model.swap(crops[:0], "bob").shape == (0, 3, 16, 16)
    with pytest.raises(KeyError, match="carol"):
        model.swap(crops, "carol")


DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
def test_grown_levels_follow_the_device_and_dtype_of_the_weights(device: str) -> None:
    torch.manual_seed(0)
    model = CombNetwork(CFG, IDS, device=device, dtype=torch.float64)
    model.grow_to(3)
    assert {(p.device.type, p.dtype) for p in model.parameters()} == {(device, torch.float64)}
    crops = images(32)  # on the CPU, float32
    out = model.swap(crops, "alice", bf16=device == "cuda")
    assert (out.device.type, out.dtype, out.shape) == ("cpu", torch.float32, crops.shape)


def test_bad_arguments() -> None:
    with pytest.raises(ParameterError):
        CombNetwork(CFG, [])
    with pytest.raises(ParameterError):
        CombNetwork(CFG, ["a", "a"])
    with pytest.raises(ParameterError):
        CombNetwork(CFG, ["a.b"])
    model = net(1)
    with pytest.raises(ValueError, match="alpha"):
        model(images(8), "alice", alpha=1.5)
    with pytest.raises(ValueError, match="z must be"):
        model.decode(torch.zeros(1, 8, 1, 1), "alice")
    with pytest.raises(ValueError):
        model.grow_to(0)
