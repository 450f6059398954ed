"""Multi-process training: ``torchrun -m faceswap_vfx.train`` with two gloo processes on CPU
trains the same weights as one process with the whole global batch, across a grow (the DDP
wrapper is rebuilt), through steps where the old from/to-RGB layers get no gradient, and
across a resume in new processes.

Tolerance: the two runs differ only in float32 summation order (the gloo all-reduce averages
two half-batch gradients; one process sums one batch), so parameters agree to 1e-5 absolute
after 4 Adam steps at lr 1e-3 (measured: ~1e-7), and the logged losses to 1e-5 relative.
Exact equality is not expected: Adam's first steps divide by sqrt(v), which turns a last-bit
gradient difference into a small weight difference.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import pytest
import torch
from train_data import portrait_dataset

from faceswap_vfx.model.comb import CombNetwork
from faceswap_vfx.model.config import CombConfig
from faceswap_vfx.model.losses import ReconstructionLoss
from faceswap_vfx.train.checkpoint import checkpoint_path, load_checkpoint
from faceswap_vfx.train.config import AugmentConfig, RunConfig, TrainConfig
from faceswap_vfx.train.distributed import CombForward, sync_step, world_size, wrap
from faceswap_vfx.train.feedback import read_scalars
from faceswap_vfx.train.loop import build_optimizer, train, train_step

torch.set_num_threads(1)

ATOL = 1e-5
MODEL = CombConfig(max_resolution=8, width=1 / 32, latent=8, split_level=0)  # levels 0, 1
# 8 images a step (2 identities x 4 crops, in one process or two): level 0 for one step,
# level 1 fades in over one step, then two steps at alpha 1 (old RGB layers unused).
NO_AUGMENT = AugmentConfig(rotate_deg=0, scale=0, shift=0, flip=0, exposure_stops=0, colour=0)
TRAIN = TrainConfig(batch_per_identity=4, fade_images=8, stabilise_images=8, max_images=32,
                    loss_weights={"l1": 1.0, "ssim": 0.5}, augment=NO_AUGMENT, log_images=8,
                    preview_images=1000, checkpoint_images=1000, tensorboard=False,
                    device="cpu", seed=3)


@pytest.fixture(scope="module")
def run_config(tmp_path_factory):
    root = tmp_path_factory.mktemp("ddp_data")
    a = portrait_dataset(root / "a", "astronaut", 5, 8)
    g = portrait_dataset(root / "g", "grace_hopper", 3, 8, seed=1)
    return RunConfig(MODEL, TRAIN, (("astro", str(a)), ("grace", str(g))))


def torchrun(*args: str, program: tuple[str, ...] = ("-m", "faceswap_vfx.train")
             ) -> subprocess.CompletedProcess:
    """Two processes of ``program`` (the train command by default) under torchrun."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                           "--nproc_per_node=2", *program, *args],
                          env=env, capture_output=True, text=True, timeout=300)


def assert_same_weights(a, b):
    assert (a.images_seen, a.step, a.level, a.alpha) == (b.images_seen, b.step, b.level, b.alpha)
    assert a.model_state.keys() == b.model_state.keys()
    worst = max(float((a.model_state[k] - b.model_state[k]).abs().max()) for k in a.model_state)
    assert worst < ATOL, f"largest parameter difference {worst:.3g}"
    return worst


def test_two_gloo_processes_train_what_one_process_trains(run_config, tmp_path):
    half = dataclasses.replace(run_config, train=dataclasses.replace(TRAIN, batch_per_identity=2))
    half.save(tmp_path / "half.json")
    two = tmp_path / "two"
    first = torchrun("--config", str(tmp_path / "half.json"), "--out", str(two),
                     "--max-images", "16")
    assert first.returncode == 0, first.stderr[-3000:]
    resumed = torchrun("--resume", str(two), "--max-images", "32")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    # process 0 alone writes: one checkpoint per stop, one config, one scalars file
    assert sorted(p.name for p in (two / "checkpoints").iterdir()) == \
        ["000000000016.pt", "000000000032.pt"]
    assert "32 images, level 1" in resumed.stdout

    one = tmp_path / "one"
    train(run_config, one, until_images=16)
    train(run_config, one, resume=True)
    for images in (16, 32):  # after the fade step, and after the resume and two alpha-1 steps
        a = load_checkpoint(checkpoint_path(one, images))
        b = load_checkpoint(checkpoint_path(two, images))
        print(f"{images} images: largest difference {assert_same_weights(a, b):.2g}")
        # the same parameters got Adam state: none for the RGB layers no process used
        assert a.optimizer_state["state"].keys() == b.optimizer_state["state"].keys()
    mid, end = (load_checkpoint(checkpoint_path(two, i)).model_state for i in (16, 32))
    assert max(float((mid[k] - end[k]).abs().max()) for k in mid) > 100 * ATOL  # it trained
    ones, twos = read_scalars(one), read_scalars(two)
    assert [r["images_seen"] for r in twos] == [8, 16, 24, 32]
    for r1, r2 in zip(ones, twos, strict=True):  # losses are averaged over the processes
        assert r2["loss"] == pytest.approx(r1["loss"], rel=1e-5)
        assert (r1["level"], r1["alpha"]) == (r2["level"], r2["alpha"])


def test_step_through_a_one_process_ddp_wrapper_matches_the_plain_step(tmp_path, monkeypatch):
    """DDP in a group of one: same gradients as the unwrapped step, unused RGB layers keep
    ``grad = None`` (Adam skips them) and a regrown wrapper sees the new level."""
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(_free_port()))
    torch.distributed.init_process_group("gloo", rank=0, world_size=1)
    try:
        assert world_size() == 1 and sync_step({"loss": 2.0}, False) == ({"loss": 2.0}, False)
        g = torch.Generator().manual_seed(0)
        batches = {n: (torch.rand(2, 3, 8, 8, generator=g), torch.rand(2, 1, 8, 8, generator=g))
                   for n in ("astro", "grace")}
        loss_fn = ReconstructionLoss({"l1": 1.0}, 0.1)
        grads = []
        for ddp in (False, True):
            torch.manual_seed(0)
            model = CombNetwork(MODEL, ["astro", "grace"], level=0)
            net = wrap(model, torch.device("cpu"), ddp=ddp)
            del net
            model.grow_to(1)
            net = wrap(model, torch.device("cpu"), ddp=ddp)
            assert isinstance(net, torch.nn.parallel.DistributedDataParallel) == ddp
            opt = build_optimizer(model, TRAIN)
            terms = train_step(model, opt, loss_fn, batches, alpha=1.0, net=net)
            grads.append({k: p.grad for k, p in model.named_parameters()})
            assert terms["loss"] > 0
        plain, wrapped = grads
        unused = {k for k, v in plain.items() if v is None}
        assert unused == {k for k, v in wrapped.items() if v is None}
        assert unused and all(".to_rgb.0." in k or ".from_rgb.0." in k for k in unused)
        for k in plain.keys() - unused:
            torch.testing.assert_close(wrapped[k], plain[k], rtol=0, atol=1e-7)
    finally:
        torch.distributed.destroy_process_group()


LEAVE_GROUP = """
import os, sys, torch
from faceswap_vfx.model.comb import CombNetwork
from faceswap_vfx.model.config import CombConfig
from faceswap_vfx.train.distributed import init_from_env, shutdown, wrap
assert init_from_env("cpu")
model = CombNetwork(CombConfig(max_resolution=8, width=1 / 32, latent=8, split_level=0),
                    ["a", "b"], level=0)
net = wrap(model, torch.device("cpu"))
out = net(torch.rand(2, 3, 4, 4), [1, 1], ["a", "b"], 1.0)
sum(o.sum() for o in out).backward()
del net


def threads(when):
    tasks = os.listdir("/proc/self/task")
    names = [open(f"/proc/self/task/{t}/comm").read().strip() for t in tasks]
    with open(os.path.join(sys.argv[1], f"{when}.{os.environ['RANK']}"), "w") as f:
        f.write(" ".join(sorted(names)))


threads("before")
shutdown()
threads("after")
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/task")
def test_leaving_the_group_ends_its_threads(tmp_path):
    """After :func:`shutdown` no gloo thread is left to be torn down with the interpreter
    (where one now and then aborted a finished process): the group DDP used is freed."""
    script = tmp_path / "leave.py"
    script.write_text(LEAVE_GROUP)
    done = torchrun(str(tmp_path), program=(str(script),))
    assert done.returncode == 0, done.stderr[-3000:]
    for rank in (0, 1):
        before, after = ((tmp_path / f"{when}.{rank}").read_text().split()
                         for when in ("before", "after"))
        assert any("gloo" in name for name in before), before  # the group's threads ran
        assert not any("gloo" in name for name in after), after


def test_comb_forward_checks_the_split():
    model = CombNetwork(MODEL, ["astro", "grace"])
    with pytest.raises(ValueError, match="do not split"):
        CombForward(model)(torch.rand(3, 3, 4, 4), [2, 2], ["astro", "grace"], 1.0)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
