"""The progressive training loop: growth, heads vs shared parts, previews, exact resume."""

from __future__ import annotations

import dataclasses
import os
import signal

import numpy as np
import pytest
import torch
from train_data import portrait_dataset

from faceswap_vfx.errors import ParameterError
from faceswap_vfx.io.image import read_image
from faceswap_vfx.model.comb import CombNetwork
from faceswap_vfx.model.config import CombConfig
from faceswap_vfx.model.losses import ReconstructionLoss
from faceswap_vfx.train.checkpoint import latest_checkpoint, load_checkpoint
from faceswap_vfx.train.config import RunConfig, TrainConfig
from faceswap_vfx.train.dataset import TrainingData
from faceswap_vfx.train.feedback import read_scalars
from faceswap_vfx.train.loop import build_optimizer, train, train_step
from faceswap_vfx.train.preview import preview_grid, preview_inputs

torch.set_num_threads(1)

MODEL = CombConfig(max_resolution=16, width=1 / 32, latent=16, split_level=0)  # levels 0..2
# 4 images a step; level 0: 0-16, level 1: fade 16-32, stabilise 32-48, level 2: 48-80
# a toy network trained for 20 steps: an equalised lr above the default, so that it learns
# within them (tests/test_train_stability.py trains at the defaults)
TRAIN = TrainConfig(batch_per_identity=2, learning_rate=1e-2, fade_images=16,
                    stabilise_images=16, log_images=4,
                    preview_images=40, checkpoint_images=12, keep_checkpoints=2,
                    preview_per_identity=2, tensorboard=False)


@pytest.fixture(scope="module")
def run_config(tmp_path_factory):
    root = tmp_path_factory.mktemp("datasets")
    a = portrait_dataset(root / "a", "astronaut", 5, 16)
    g = portrait_dataset(root / "g", "grace_hopper", 3, 16, seed=1)
    return RunConfig(MODEL, TRAIN, (("astro", str(a)), ("grace", str(g))))


@pytest.fixture(scope="module")
def data(run_config):
    return TrainingData(run_config.data, MODEL.max_resolution)


@pytest.fixture(scope="module")
def uninterrupted(run_config, data, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run_a")
    result = train(run_config, run_dir, data=data)
    return run_dir, result


def losses(run_dir) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "images_per_s"} for r in read_scalars(run_dir)]


def test_grows_from_4px_to_the_last_level(uninterrupted):
    run_dir, result = uninterrupted
    assert (result.images_seen, result.step, result.level, result.alpha) == (80, 20, 2, 1.0)
    records = losses(run_dir)
    assert [r["images_seen"] for r in records] == list(range(4, 81, 4))
    assert [r["level"] for r in records] == [0] * 4 + [1] * 8 + [2] * 8
    assert [r["alpha"] for r in records[4:8]] == [0.0, 0.25, 0.5, 0.75]  # before each step
    assert all(np.isfinite(r["loss"]) for r in records)
    assert records[-1]["loss"] < records[4]["loss"]  # learns within a level
    assert {"l1", "ms_ssim", "loss_astro", "loss_grace"} <= set(records[0])
    ckpt = load_checkpoint(latest_checkpoint(run_dir), MODEL, ("astro", "grace"))
    assert (ckpt.images_seen, ckpt.level, ckpt.colorspace) == (80, 2, "srgb_tx")
    CombNetwork(MODEL, ["astro", "grace"], level=2).load_state_dict(ckpt.model_state)
    assert len(list((run_dir / "checkpoints").glob("*.pt"))) == 2  # keep_checkpoints
    assert RunConfig.load(run_dir / "config.json") == RunConfig.from_dict(
        RunConfig.load(run_dir / "config.json").to_dict())


def test_preview_grid_rows_and_file(uninterrupted, data):
    run_dir, _ = uninterrupted
    pngs = sorted((run_dir / "previews").glob("*.png"))
    assert [p.stem for p in pngs] == ["000000000040", "000000000080"]
    grid = read_image(pngs[-1]).part.rgb()
    # 2 identities x 2 crops; rows: inputs, reconstructions, swaps; 16 px cells shown at 64
    assert grid.shape == (3 * 64 + 2 * 2, 4 * 64 + 3 * 2, 3)
    inputs = preview_inputs(data, 2)
    first = inputs["astro"][0].permute(1, 2, 0).repeat_interleave(4, 0).repeat_interleave(4, 1)
    np.testing.assert_allclose(grid[:64, :64], first.numpy(), atol=0.5 / 255 + 1e-6)
    model = CombNetwork(MODEL, ["astro", "grace"], level=2)
    model.load_state_dict(load_checkpoint(latest_checkpoint(run_dir)).model_state)
    g = preview_grid(model, inputs)
    own = model.swap(inputs["grace"][1:2], "grace")[0].permute(1, 2, 0)
    swap = model.swap(inputs["grace"][1:2], "astro")[0].permute(1, 2, 0)
    np.testing.assert_allclose(g[66:66 + 64:4, 3 * 66:3 * 66 + 64:4], own.numpy(), atol=1e-6)
    np.testing.assert_allclose(g[132:132 + 64:4, 3 * 66:3 * 66 + 64:4], swap.numpy(), atol=1e-6)


def test_resume_after_stop_and_kill_repeats_the_run_exactly(run_config, data, uninterrupted,
                                                            tmp_path):
    run_dir, _ = uninterrupted
    first = train(run_config, tmp_path, data=data, until_images=8)  # a planned stop
    assert first.images_seen == 8 and latest_checkpoint(tmp_path).stem == "000000000008"

    def ctrl_c(step, images_seen, terms):
        if step == 5:
            os.kill(os.getpid(), signal.SIGINT)  # finishes the step, saves, then stops

    with pytest.raises(KeyboardInterrupt):
        train(run_config, tmp_path, resume=True, data=data, on_step=ctrl_c)
    assert latest_checkpoint(tmp_path).stem == "000000000020"  # in level 1's fade

    def kill(step, images_seen, terms):
        if step == 13:  # checkpoints at 24, 36, 48 written; 52 is lost
            raise RuntimeError("killed")

    with pytest.raises(RuntimeError, match="killed"):
        train(run_config, tmp_path, resume=True, data=data, on_step=kill)
    assert latest_checkpoint(tmp_path).stem == "000000000048"  # resumes into a grow
    with pytest.raises(ParameterError, match="already has checkpoints"):
        train(run_config, tmp_path, data=data)
    last = train(run_config, tmp_path, resume=True, data=data)
    assert last.images_seen == 80
    assert losses(tmp_path) == losses(run_dir)  # bit for bit, every step
    a = load_checkpoint(latest_checkpoint(run_dir))
    b = load_checkpoint(latest_checkpoint(tmp_path))
    assert a.model_state.keys() == b.model_state.keys()
    assert all(torch.equal(a.model_state[k], b.model_state[k]) for k in a.model_state)
    assert not torch.are_deterministic_algorithms_enabled()  # restored


def test_another_seed_gives_another_run(run_config, data, uninterrupted, tmp_path):
    other = dataclasses.replace(run_config, train=dataclasses.replace(TRAIN, seed=1))
    train(other, tmp_path, data=data, until_images=8)
    mine, theirs = losses(uninterrupted[0])[:2], losses(tmp_path)
    assert [r["loss"] for r in mine] != [r["loss"] for r in theirs]


def test_each_head_learns_from_its_own_identity_only():
    torch.manual_seed(0)
    model = CombNetwork(MODEL, ["astro", "grace"], level=1)
    loss_fn = ReconstructionLoss({"l1": 1.0}, 0.1)
    g = torch.Generator().manual_seed(0)
    astro = [(torch.rand(2, 3, 8, 8, generator=g), torch.rand(2, 1, 8, 8, generator=g))
             for _ in range(2)]
    grace = (torch.rand(2, 3, 8, 8, generator=g), torch.ones(2, 1, 8, 8))
    grads = []
    for a in astro:
        opt = build_optimizer(model, TRAIN)  # the step updates: compare the gradients
        state = {k: v.clone() for k, v in model.state_dict().items()}
        train_step(model, opt, loss_fn, {"astro": a, "grace": grace}, alpha=0.5)
        grads.append({n: p.grad.clone() for n, p in model.named_parameters()
                      if p.grad is not None})
        model.load_state_dict(state)
    names = set(grads[0])
    assert {n for n in names if n.startswith("heads.grace")}  # every part got a gradient
    assert {n for n in names if n.startswith("heads.astro")}
    assert {n for n in names if n.startswith(("encoder.", "trunk."))}
    for n in names:
        same = torch.equal(grads[0][n], grads[1][n])
        assert same == n.startswith("heads.grace"), n  # grace's head ignores astro's crops


def test_tensorboard_scalars(run_config, data, tmp_path):
    pytest.importorskip("tensorboard")
    tb = dataclasses.replace(run_config, train=dataclasses.replace(TRAIN, tensorboard=True))
    train(tb, tmp_path, data=data, until_images=8)
    assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
