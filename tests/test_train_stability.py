"""Training is stable at the paper's width by default; a diverged run stops with a named error.

The optimiser (equalised learning rate, Adam state carried across growth) and the divergence
watch. The width-1.0 runs are real trainings on portrait crops at 4 and 8 px.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from train_data import portrait_dataset

from faceswap_vfx.errors import TrainingDivergedError
from faceswap_vfx.model.comb import CombNetwork
from faceswap_vfx.model.config import CombConfig
from faceswap_vfx.train import checkpoint as ck
from faceswap_vfx.train.config import RunConfig, TrainConfig
from faceswap_vfx.train.dataset import TrainingData
from faceswap_vfx.train.divergence import MIN_FOLLOWS, DivergenceWatch
from faceswap_vfx.train.feedback import read_scalars
from faceswap_vfx.train.loop import train
from faceswap_vfx.train.optimizer import build_optimizer, regrow_optimizer

torch.set_num_threads(2)

WIDE = CombConfig(max_resolution=8, width=1.0, latent=512, split_level=0)  # Table 1's width
# 16 images a step; level 0: 0-192; level 1 fades in over 192-352, stabilises to 544
DEFAULTS = TrainConfig(fade_images=160, stabilise_images=192, log_images=32,
                       preview_images=10**6, checkpoint_images=10**6, tensorboard=False)


@pytest.fixture(scope="module")
def wide_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("wide")
    data = (("astro", str(portrait_dataset(root / "a", "astronaut", 16, 8))),
            ("grace", str(portrait_dataset(root / "g", "grace_hopper", 16, 8, seed=1))))
    return data, TrainingData(data, 8)


def by_level(run_dir, key: str) -> dict[int, list[float]]:
    out: dict[int, list[float]] = {}
    for r in read_scalars(run_dir):
        out.setdefault(r["level"], []).append(r[key])
    return out


def test_width_1_learns_at_the_first_levels_with_the_defaults(wide_data, tmp_path):
    data, loaded = wide_data
    run = RunConfig(WIDE, DEFAULTS, data)
    assert run.train.learning_rate == TrainConfig().learning_rate  # nothing tuned for the test
    assert run.train.lr_scaling == TrainConfig().lr_scaling == "equalized"
    train(run, tmp_path, data=loaded)
    loss, l1 = by_level(tmp_path, "loss"), by_level(tmp_path, "l1")
    assert loss[0][-1] < 0.6 * loss[0][0], loss[0]  # level 0 learns and keeps what it learnt
    assert max(loss[0][2:]) < loss[0][0], loss[0]
    assert loss[1][-1] < loss[1][0], loss[1]  # and so does level 1
    # one lr for every layer: L1 rises to ~0.42 at level 0 and ~0.49 at level 1 (flat colour)
    assert l1[0][-1] < 0.12 and l1[1][-1] < 0.12, l1
    follows = [r["follows"] for r in read_scalars(tmp_path)]
    assert min(follows) > MIN_FOLLOWS and follows[-1] > 0.15, follows  # the output varies


def test_one_lr_for_every_layer_diverges_at_width_1_and_is_stopped(wide_data, tmp_path):
    """The recipe before the equalised lr (one lr for every layer): at Table 1's width it
    collapses to flat colour at level 0, and the watch stops it with the named error."""
    data, loaded = wide_data
    old = dataclasses.replace(DEFAULTS, lr_scaling="none", divergence_images=96,
                              checkpoint_images=32)
    with pytest.raises(TrainingDivergedError, match="collapsed") as err:
        train(RunConfig(WIDE, old, data), tmp_path, data=loaded)
    records = read_scalars(tmp_path)
    assert records[-1]["follows"] < MIN_FOLLOWS
    assert records[-1]["l1"] > 2 * min(r["l1"] for r in records)  # it got worse, not better
    # no checkpoint was written while the output was flat: the one named is from before
    written = [int(p.stem) for p in (tmp_path / "checkpoints").glob("*.pt")]
    flat_since = int(str(err.value).split("since ")[1].split()[0])
    assert all(n < flat_since for n in written)
    assert (f"Last good checkpoint: {ck.latest_checkpoint(tmp_path)}" in str(err.value)
            if written else "Last good checkpoint: None" in str(err.value))


def test_equalized_lr_scales_each_layer_by_its_he_std():
    cfg = CombConfig(max_resolution=16, width=0.25, latent=32)
    model = CombNetwork(cfg, ["a", "b"], level=2)
    opt = build_optimizer(model, TrainConfig(learning_rate=0.002))
    lr_of = {id(p): g["lr"] for g in opt.param_groups for p in g["params"]}
    assert len(lr_of) == len(list(model.parameters()))  # every parameter, once
    conv = model.encoder.blocks["1"].conv1
    fan_in = conv.weight[0].numel()
    assert lr_of[id(conv.weight)] == pytest.approx(0.002 * (2 / 1.04) ** 0.5 / fan_in ** 0.5)
    assert lr_of[id(conv.bias)] == 0.002
    to_rgb = model.heads["a"].to_rgb["2"].conv
    assert lr_of[id(to_rgb.weight)] == pytest.approx(0.002 / to_rgb.weight[0].numel() ** 0.5)
    flat = build_optimizer(model, TrainConfig(learning_rate=0.002, lr_scaling="none"))
    assert {g["lr"] for g in flat.param_groups} == {0.002}
    names = {g["name"] for g in opt.param_groups}
    assert names == {"shared", "head:a", "head:b"}


def test_a_grow_keeps_the_adam_state_of_the_layers_already_there():
    cfg = CombConfig(max_resolution=16, width=0.125, latent=16)
    model = CombNetwork(cfg, ["a"], level=1)
    opt = build_optimizer(model, TrainConfig())
    model(torch.rand(2, 3, 8, 8), "a").mean().backward()
    opt.step()
    before = {p: {k: v.clone() for k, v in opt.state[p].items()} for p in model.parameters()}
    model.grow()
    new = regrow_optimizer(model, TrainConfig(), opt)
    kept = [p for p in model.parameters() if p in before]
    added = [p for p in model.parameters() if p not in before]
    assert kept and added
    for p in kept:
        assert torch.equal(new.state[p]["exp_avg_sq"], before[p]["exp_avg_sq"])
        assert new.state[p]["step"] == 1
    assert all(p not in new.state for p in added)


def test_a_version_1_run_config_keeps_its_single_lr(tmp_path):
    run = RunConfig(WIDE, TrainConfig(), (("a", "x"),))
    body = run.to_dict() | {"version": 1}
    body["train"] = {k: v for k, v in body["train"].items() if k != "lr_scaling"}
    (tmp_path / "config.json").write_text(json.dumps(body))
    assert RunConfig.load(tmp_path / "config.json").train.lr_scaling == "none"
    assert RunConfig.from_dict(run.to_dict()).train.lr_scaling == "equalized"


# --- the watch on its own ------------------------------------------------------------------
def feed(watch: DivergenceWatch, losses, *, level=0, follows=1.0, every=16, start=0):
    n = start
    for loss in losses:
        n += every
        watch.observe(n, level, loss, follows, "runs/x/checkpoints/000000000160.pt")
    return n


def test_a_non_finite_loss_stops_at_once_naming_the_last_checkpoint():
    watch = DivergenceWatch()
    feed(watch, [0.5, 0.4])
    for bad in (float("nan"), float("inf")):
        with pytest.raises(TrainingDivergedError, match="000000000160.pt"):
            feed(watch, [bad])


def test_a_loss_that_stays_far_above_its_best_stops_after_the_patience():
    watch = DivergenceWatch(factor=2.0, patience_images=320)
    n = feed(watch, [0.2] * 40)
    n = feed(watch, [5.0] * 10, start=n)  # the moving average passes 0.4 within a few steps
    assert watch.suspect
    with pytest.raises(TrainingDivergedError, match=r"above 2x its best at level 0"):
        feed(watch, [5.0] * 30, start=n)


def test_a_spike_that_recovers_and_a_new_level_are_not_divergence():
    watch = DivergenceWatch(factor=2.0, patience_images=640)
    n = feed(watch, [0.2] * 40)
    n = feed(watch, [5.0] * 3 + [0.2] * 60, start=n)  # back below 2x within the patience
    assert not watch.suspect
    feed(watch, [0.9] * 60, level=1, start=n)  # a higher level starts from its own loss
    assert not watch.suspect


def test_a_collapsed_output_stops_after_the_patience_but_not_at_the_start():
    watch = DivergenceWatch(patience_images=320)
    n = feed(watch, [0.5] * 19, follows=0.01)  # an untrained network may start flat
    assert not watch.suspect
    with pytest.raises(TrainingDivergedError, match="collapsed"):
        feed(watch, [0.5] * 40, follows=0.01, start=n)
    off = DivergenceWatch(factor=0, patience_images=16)
    feed(off, [0.5] * 100 + [9.0] * 100, follows=0.0)  # factor 0: only non-finite stops
    unmeasured = DivergenceWatch(patience_images=16)
    feed(unmeasured, [0.5] * 100, follows=float("nan"))  # batches of one: not measured
    assert not unmeasured.suspect
    with pytest.raises(TrainingDivergedError):
        feed(off, [float("nan")])
