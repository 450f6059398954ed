"""Dataset folders, in-memory crops at every level, balanced sampling, augmentation."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from train_data import portrait_dataset, portrait_items

from faceswap_vfx.errors import DatasetError
from faceswap_vfx.train.augment import augment, similarities
from faceswap_vfx.train.config import AugmentConfig
from faceswap_vfx.train.dataset import TrainingData, resize_square
from faceswap_vfx.train.manifest import read_manifest, write_dataset
from faceswap_vfx.train.sampler import BalancedSampler, step_generator

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("datasets")
    return {"astronaut": portrait_dataset(root / "astronaut", "astronaut", 5, 16),
            "grace_hopper": portrait_dataset(root / "grace", "grace_hopper", 3, 16, seed=1)}


def test_dataset_round_trip_and_levels(folders):
    m = read_manifest(folders["astronaut"])
    assert (m.identity, m.resolution, m.colorspace, len(m.items)) == ("astronaut", 16, "srgb_tx", 5)
    crops, masks, lms = portrait_items("astronaut", 5, 16)
    data = TrainingData([("a", folders["astronaut"]), ("g", folders["grace_hopper"])], 16)
    assert data.names == ("a", "g") and data.sizes == (5, 3) and data.colorspace == "srgb_tx"
    a = data.identities["a"]
    assert a.crops.dtype == torch.float16 and a.masks.dtype == torch.uint8
    # crops come back as the half floats written; masks as 8-bit
    torch.testing.assert_close(a.crops.float(), torch.from_numpy(crops).permute(0, 3, 1, 2),
                               atol=1e-3, rtol=1e-3)
    assert torch.equal(a.masks[:, 0], torch.from_numpy((masks * 255).round().astype(np.uint8)))
    torch.testing.assert_close(a.landmarks, torch.from_numpy(lms).float(), atol=1e-4, rtol=0)
    idx = torch.tensor([4, 0, 4])
    x16, m16 = data.batch("a", idx, 16)
    x4, m4 = data.batch("a", idx, 4)
    assert x4.shape == (3, 3, 4, 4) and m4.shape == (3, 1, 4, 4) and x4.dtype == torch.float32
    torch.testing.assert_close(x4, F.avg_pool2d(x16, 4), atol=2e-3, rtol=0)  # box filter
    assert torch.equal(x4[0], x4[2]) and not torch.equal(x4[0], x4[1])
    assert 0 <= m4.min() and m4.max() <= 1 and m4.mean() > 0.1


def test_dataset_loaded_at_a_smaller_working_resolution(folders):
    data = TrainingData([("a", folders["astronaut"])], 8)
    full = TrainingData([("a", folders["astronaut"])], 16)
    torch.testing.assert_close(data.identities["a"].crops.float(),
                               F.avg_pool2d(full.identities["a"].crops.float(), 2),
                               atol=2e-3, rtol=0)
    torch.testing.assert_close(data.identities["a"].landmarks, full.identities["a"].landmarks / 2)
    with pytest.raises(DatasetError, match="at least 32 px"):
        TrainingData([("a", folders["astronaut"])], 32)


def test_resize_square_non_integer_factor():
    x = torch.rand(2, 3, 12, 12)
    assert resize_square(x, 8).shape == (2, 3, 8, 8)
    assert resize_square(x, 12) is x


def _broken(folders, tmp_path, edit):
    folder = tmp_path / "broken"
    shutil.copytree(folders["astronaut"], folder)
    body = json.loads((folder / "manifest.json").read_text())
    edit(folder, body)
    (folder / "manifest.json").write_text(json.dumps(body))
    return folder


@pytest.mark.parametrize("edit, message", [
    (lambda f, b: b.update(version=2), "newer faceswap_vfx"),
    (lambda f, b: b.update(format="other"), "not a faceswap_vfx.dataset"),
    (lambda f, b: b.update(items=[]), "no items"),
    (lambda f, b: b.update(resolution=12), "power of two"),
    (lambda f, b: b["items"][1].update(landmarks=[[0, 0]] * 67), "item 1 landmarks"),
    (lambda f, b: b["items"][2].update(image="../x.exr"), "leaves the dataset folder"),
    (lambda f, b: (f / b["items"][3]["mask"]).unlink(), "missing"),
])
def test_bad_manifests_are_named_errors(folders, tmp_path, edit, message):
    folder = _broken(folders, tmp_path, edit)
    with pytest.raises(DatasetError, match=message) as err:
        read_manifest(folder)
    assert str(folder) in str(err.value)


def test_bad_dataset_folders(folders, tmp_path):
    with pytest.raises(DatasetError, match="folder not found"):
        read_manifest(tmp_path / "nothing")
    with pytest.raises(DatasetError, match="no manifest.json"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(DatasetError, match="cannot read the manifest"):
        read_manifest(tmp_path)
    wrong = _broken(folders, tmp_path, lambda f, b: None)
    shutil.copy(folders["grace_hopper"] / "crops" / "000000.exr", wrong / "crops" / "000001.exr")
    small = tmp_path / "small"
    crops, masks, lms = portrait_items("astronaut", 1, 8)
    write_dataset(small, "a", crops, masks, lms, "srgb_tx")
    shutil.copy(small / "crops" / "000000.exr", wrong / "crops" / "000001.exr")
    with pytest.raises(DatasetError, match="crop is 8x8, the manifest says 16x16") as err:
        TrainingData([("a", wrong)], 16)
    assert "000001.exr" in str(err.value)
    other = tmp_path / "other_space"
    crops, masks, lms = portrait_items("astronaut", 1, 16)
    write_dataset(other, "a", crops, masks, lms, "scene_linear")
    with pytest.raises(DatasetError, match="different colour spaces"):
        TrainingData([("a", folders["astronaut"]), ("b", other)], 16)


def test_sampling_is_balanced_whatever_the_sizes():
    sampler = BalancedSampler([3, 10], batch_per_identity=5, seed=7)
    steps = [sampler.indices(s) for s in range(6)]  # 30 draws per identity
    assert all(len(i) == 5 for step in steps for i in step)
    for k, n in enumerate((3, 10)):
        counts = torch.bincount(torch.cat([step[k] for step in steps]), minlength=n)
        assert torch.equal(counts, torch.full((n,), 30 // n))  # each crop equally often
    again = BalancedSampler([3, 10], 5, seed=7).indices(4)
    assert all(torch.equal(a, b) for a, b in zip(again, steps[4], strict=True))
    other = BalancedSampler([3, 10], 5, seed=8)
    assert any(not torch.equal(a, b) for s in range(6)
               for a, b in zip(other.indices(s), steps[s], strict=True))


def test_sampler_shards_one_global_draw():
    whole = BalancedSampler([40], 6, seed=1)
    shards = [BalancedSampler([40], 3, seed=1, rank=r, world_size=2) for r in (0, 1)]
    for step in range(3):
        joined = torch.cat([s.indices(step)[0] for s in shards])
        assert torch.equal(joined, whole.indices(step)[0])
    first_epoch = torch.cat([s.indices(st)[0] for st in range(6) for s in shards])  # 36 of 40
    assert len(set(first_epoch.tolist())) == 36  # the shards never overlap within an epoch


def test_flip_mirrors_crops_and_masks_exactly():
    crops, masks = torch.rand(3, 3, 8, 8), torch.rand(3, 1, 8, 8)
    cfg = AugmentConfig(rotate_deg=0, scale=0, shift=0, flip=1.0, exposure_stops=0, colour=0)
    x, m = augment(crops, masks, cfg, torch.Generator().manual_seed(0))
    assert torch.equal(x, crops.flip(-1)) and torch.equal(m, masks.flip(-1))
    still = AugmentConfig(rotate_deg=0, scale=0, shift=0, flip=0, exposure_stops=0, colour=0)
    x, m = augment(crops, masks, still, torch.Generator().manual_seed(0))
    assert torch.equal(x, crops) and torch.equal(m, masks)
    # the warp path flips exactly too (no rotation, scale or shift: an exact mirror)
    warped = similarities(torch.tensor([[0.5, 0.5, 0.5, 0.5, 0.0]]), 8, cfg)
    np.testing.assert_allclose(warped[0], [[-1, 0, 8], [0, 1, 0], [0, 0, 1]], atol=1e-12)


def test_jitter_moves_the_mask_where_the_matrix_says():
    r = 32
    yy, xx = torch.meshgrid(torch.arange(r) + 0.5, torch.arange(r) + 0.5, indexing="ij")
    blob = torch.exp(-((xx - 12.0) ** 2 + (yy - 19.0) ** 2) / (2 * 1.5**2))[None, None]
    cfg = AugmentConfig(rotate_deg=10, scale=0.1, shift=0.05, flip=0.5, exposure_stops=0,
                        colour=0)
    masks = blob.expand(16, 1, r, r)
    crops = torch.full((16, 3, r, r), 0.5)
    x, m = augment(crops, masks, cfg, step_generator(3, 0))
    mats = similarities(torch.rand(16, 9, generator=step_generator(3, 0), dtype=torch.float64),
                        r, cfg)
    for i in range(16):
        w = m[i, 0]
        centre = ((w * xx).sum() / w.sum(), (w * yy).sum() / w.sum())
        want = mats[i] @ [12.0, 19.0, 1.0]
        np.testing.assert_allclose([float(c) for c in centre], want[:2], atol=0.1)
    assert torch.allclose(x, crops)  # flat grey stays grey: no colour change asked
    assert len({tuple(np.round(mats[i, 0, :2], 6)) for i in range(16)}) == 16


def test_exposure_and_colour_gains_stay_in_range():
    crops = torch.full((64, 3, 4, 4), 0.5)
    cfg = AugmentConfig(rotate_deg=0, scale=0, shift=0, flip=0, exposure_stops=0.5, colour=0.1)
    x, _ = augment(crops, torch.ones(64, 1, 4, 4), cfg, step_generator(0, 1))
    gain = x[:, :, 0, 0] / 0.5
    lo, hi = 2 ** (-0.5 / 2.2) * 0.9, 2 ** (0.5 / 2.2) * 1.1
    assert gain.min() >= lo - 1e-6 and gain.max() <= hi + 1e-6
    assert gain.std() > 0.05 and torch.equal(x[:, :, 0, 0], x[:, :, 3, 2])
    y, _ = augment(crops, torch.ones(64, 1, 4, 4), cfg, step_generator(0, 1))
    assert torch.equal(x, y)
