"""``faceswap-vfx train``: flags into a run config, a run, a resume, errors as exit codes."""

from __future__ import annotations

import json

import pytest
import torch
from train_data import portrait_dataset

from faceswap_vfx.cli.main import build_parser, main
from faceswap_vfx.train.checkpoint import latest_checkpoint, load_checkpoint
from faceswap_vfx.train.config import RunConfig
from faceswap_vfx.train.feedback import read_scalars

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    root = tmp_path_factory.mktemp("datasets")
    return (portrait_dataset(root / "a", "astronaut", 3, 8),
            portrait_dataset(root / "g", "grace_hopper", 2, 8, seed=1))


FLAGS = ["--max-resolution", "8", "--width", "0.03125", "--latent", "8", "--split-level", "0",
         "--images-per-level", "16", "--batch", "2", "--log-images", "4", "--preview-images",
         "12", "--checkpoint-images", "8", "--loss", "l1=1", "--loss", "ssim=0.5",
         "--no-tensorboard", "--seed", "4"]


def test_help_has_an_example():
    text = build_parser()._subparsers._group_actions[0].choices["train"].format_help()
    assert "example:" in text and "--images-per-level" in text


def test_train_then_resume_longer(datasets, tmp_path, capsys):
    a, g = datasets
    run = tmp_path / "run"
    assert main(["train", "--data", f"astro={a}", "--data", str(g), "--out", str(run),
                 *FLAGS]) == 0
    config = RunConfig.load(run / "config.json")
    assert config.identities == ("astro", "grace_hopper")  # a bare folder: the manifest's name
    assert (config.model.max_resolution, config.model.width, config.model.split_level) == \
        (8, 0.03125, 0)
    assert (config.train.fade_images, config.train.stabilise_images, config.train.seed) == \
        (8, 8, 4)
    assert config.train.loss_weights == {"l1": 1.0, "ssim": 0.5}
    assert read_scalars(run)[-1]["images_seen"] == 24  # 8 + (8 + 8) images, 4 a step
    assert "24 images, level 1 (8 px)" in capsys.readouterr().out
    assert list((run / "previews").glob("*.png"))

    assert main(["train", "--resume", str(run), "--width", "0.5"]) == 1
    assert "keeps its config.json" in capsys.readouterr().err
    assert main(["train", "--out", str(run), "--data", f"astro={a}", *FLAGS]) == 1
    assert "already has checkpoints" in capsys.readouterr().err

    assert main(["train", "--resume", str(run), "--max-images", "32"]) == 0
    ckpt = load_checkpoint(latest_checkpoint(run))
    assert (ckpt.images_seen, ckpt.level, ckpt.alpha) == (32, 1, 1.0)
    assert [r["images_seen"] for r in read_scalars(run)] == list(range(4, 33, 4))


def test_config_file_as_a_starting_point(datasets, tmp_path):
    a, g = datasets
    first = tmp_path / "first"
    main(["train", "--data", f"x={a}", "--data", f"y={g}", "--out", str(first), *FLAGS,
          "--max-images", "4"])
    second = tmp_path / "second"
    assert main(["train", "--config", str(first / "config.json"), "--out", str(second),
                 "--lr", "0.0005", "--max-images", "4"]) == 0
    body = json.loads((second / "config.json").read_text())
    assert body["train"]["learning_rate"] == 0.0005 and body["model"]["width"] == 0.03125
    assert [d[0] for d in body["data"]] == ["x", "y"]


def test_bad_arguments_are_errors(datasets, tmp_path, capsys):
    a, _ = datasets
    assert main(["train", "--data", f"a={a}"]) == 1
    assert "--out RUN is required" in capsys.readouterr().err
    assert main(["train", "--out", str(tmp_path / "r")]) == 1
    assert "--data NAME=DATASET is required" in capsys.readouterr().err
    assert main(["train", "--data", f"a={tmp_path / 'none'}", "--out", str(tmp_path / "r")]) == 1
    assert "dataset folder not found" in capsys.readouterr().err
    assert main(["train", "--data", f"a={a}", "--out", str(tmp_path / "r"), "--loss", "l1"]) == 1
    assert "not NAME=VALUE" in capsys.readouterr().err
    assert main(["train", "--data", f"a={a}", "--out", str(tmp_path / "r"), "--device",
                 "gpu"]) == 1
    assert "unknown device 'gpu'" in capsys.readouterr().err
    assert main(["train", "--resume"]) == 1
    assert "--resume needs a run folder" in capsys.readouterr().err


def test_help_shows_the_defaults_and_cpu_guidance():
    text = " ".join(build_parser()._subparsers._group_actions[0].choices["train"]
                    .format_help().split())
    for needle in ("channel multiplier (default 1:", "(default 1200000", "on a CPU",
                   "fade-in images per level (default 600000)",
                   "stabilise images per level (default 600000)", "(default 0.003)"):
        assert needle in text, needle


@pytest.mark.parametrize(("resolution", "split"), [(4, -1), (8, 0)])
def test_a_small_max_resolution_needs_no_split_level(datasets, tmp_path, resolution, split):
    a, g = datasets
    run = tmp_path / "run"
    assert main(["train", "--data", f"a={a}", "--data", f"g={g}", "--out", str(run),
                 "--max-resolution", str(resolution), "--width", "0.03125", "--latent", "8",
                 "--images-per-level", "8", "--batch", "2", "--max-images", "4",
                 "--no-tensorboard"]) == 0
    assert RunConfig.load(run / "config.json").model.split_level == split
