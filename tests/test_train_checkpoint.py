"""Checkpoints (versioned, atomic, rank 0 only, named errors) and the run config file."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch

from faceswap_vfx.errors import CheckpointError, ModelFileError, ParameterError
from faceswap_vfx.model.comb import CombNetwork
from faceswap_vfx.model.config import CombConfig
from faceswap_vfx.train import checkpoint as ck
from faceswap_vfx.train.config import RUN_VERSION, AugmentConfig, RunConfig, TrainConfig
from faceswap_vfx.train.loop import build_optimizer

torch.set_num_threads(1)

MODEL = CombConfig(max_resolution=16, width=1 / 32, latent=16)
IDS = ("alice", "bob")


def make_checkpoint(level: int = 1) -> ck.Checkpoint:
    torch.manual_seed(0)
    model = CombNetwork(MODEL, IDS, level=level)
    opt = build_optimizer(model, TrainConfig())
    model(torch.rand(2, 3, 4 << level, 4 << level), "bob").mean().backward()
    opt.step()
    return ck.Checkpoint(MODEL, TrainConfig(seed=3), IDS, "srgb_tx", level, 0.5, 1234, 77,
                         model.state_dict(), opt.state_dict())


def test_round_trip(tmp_path):
    c = make_checkpoint()
    path = ck.save_checkpoint(c, ck.checkpoint_path(tmp_path, c.images_seen))
    assert path == tmp_path / "checkpoints" / "000000001234.pt"
    assert ck.latest_checkpoint(tmp_path) == path
    back = ck.load_checkpoint(path, MODEL, IDS)
    assert (back.train_config, back.identities, back.level, back.alpha, back.images_seen,
            back.step, back.colorspace) == (TrainConfig(seed=3), IDS, 1, 0.5, 1234, 77, "srgb_tx")
    model = ck.model_from_checkpoint(back)
    assert model.level == 1
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in c.model_state.items())
    opt = build_optimizer(model, TrainConfig())
    opt.load_state_dict(back.optimizer_state)  # the optimiser state fits the network
    assert not [p for p in (tmp_path / "checkpoints").iterdir() if p.suffix != ".pt"]


def test_rng_states_round_trip():
    torch.manual_seed(5)
    np.random.seed(5)  # noqa: NPY002 (the global state is what checkpoints keep)
    random.seed(5)
    state = ck.rng_state()
    first = (torch.rand(3), np.random.rand(3), random.random())  # noqa: NPY002
    torch.manual_seed(9)
    ck.set_rng_state(state)
    second = (torch.rand(3), np.random.rand(3), random.random())  # noqa: NPY002
    assert torch.equal(first[0], second[0]) and np.array_equal(first[1], second[1])
    assert first[2] == second[2]


def test_truncated_newer_and_foreign_checkpoints_are_named_errors(tmp_path):
    path = ck.save_checkpoint(make_checkpoint(), tmp_path / "checkpoints" / "000000000001.pt")
    raw = path.read_bytes()
    cut = tmp_path / "cut.pt"
    cut.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt") as err:
        ck.load_checkpoint(cut)
    assert str(cut) in str(err.value) and isinstance(err.value, ModelFileError)
    junk = tmp_path / "junk.pt"
    junk.write_text("not a checkpoint")
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        ck.load_checkpoint(junk)
    newer = make_checkpoint()
    body = newer.payload() | {"version": ck.CHECKPOINT_VERSION + 1}
    torch.save(body, tmp_path / "newer.pt")
    with pytest.raises(CheckpointError, match="newer faceswap_vfx"):
        ck.load_checkpoint(tmp_path / "newer.pt")
    torch.save({"format": "something else"}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a faceswap_vfx.checkpoint"):
        ck.load_checkpoint(tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match=r"another network: width 0.03125 \(asked 0.0625\)"):
        ck.load_checkpoint(path, CombConfig(max_resolution=16, width=1 / 16, latent=16), IDS)
    with pytest.raises(CheckpointError, match="for identities"):
        ck.load_checkpoint(path, MODEL, ("alice", "carol"))
    with pytest.raises(CheckpointError, match="not found"):
        ck.load_checkpoint(tmp_path / "missing.pt")
    with pytest.raises(CheckpointError, match="no checkpoint yet"):
        ck.latest_checkpoint(tmp_path / "empty_run")
    wrong_level = ck.load_checkpoint(path)
    wrong_level.level = 2
    with pytest.raises(CheckpointError, match="do not fit"):
        ck.model_from_checkpoint(wrong_level)


def test_only_rank_0_writes_and_old_checkpoints_are_pruned(tmp_path, monkeypatch):
    c = make_checkpoint(level=0)
    for n in (1, 2, 3):
        ck.save_checkpoint(c, ck.checkpoint_path(tmp_path, n), keep=2)
    assert [p.stem for p in ck.list_checkpoints(tmp_path)] == ["000000000002", "000000000003"]
    monkeypatch.setattr(ck, "process_rank", lambda: 1)
    assert ck.save_checkpoint(c, ck.checkpoint_path(tmp_path, 4), keep=2) is None
    assert len(ck.list_checkpoints(tmp_path)) == 2


def test_run_config_round_trip_and_errors(tmp_path):
    run = RunConfig(MODEL, TrainConfig(fade_images=(0, 5, 6), stabilise_images=7,
                                       augment=AugmentConfig(flip=0.0),
                                       loss_weights={"l1": 2.0}), (("a", "/x"), ("b", "/y")))
    run.save(tmp_path / "config.json")
    assert RunConfig.load(tmp_path / "config.json") == run
    assert run.identities == ("a", "b")
    assert run.train.stop_images(MODEL.max_level) == 5 + 6 + 3 * 7
    body = json.loads((tmp_path / "config.json").read_text())
    newer = RUN_VERSION + 1
    for edit, message in [({"version": newer}, f"reads up to {RUN_VERSION}"),
                          ({"format": "x"}, "not a run"),
                          ({"train": {"bogus": 1}}, "unknown key"),
                          ({"model": {**body["model"], "width": -1}}, "width")]:
        (tmp_path / "bad.json").write_text(json.dumps(body | edit))
        with pytest.raises(ParameterError, match=message) as err:
            RunConfig.load(tmp_path / "bad.json")
        assert "bad.json" in str(err.value)
    with pytest.raises(ParameterError, match="fade_images has 2 entries"):
        RunConfig(MODEL, TrainConfig(fade_images=(0, 5)), (("a", "/x"),))
    with pytest.raises(ParameterError, match="batch_per_identity"):
        TrainConfig(batch_per_identity=0)
    with pytest.raises(ParameterError, match="flip"):
        AugmentConfig(flip=2.0)
