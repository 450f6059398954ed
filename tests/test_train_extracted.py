"""End to end: photos -> ``face.extract`` datasets -> training -> TorchScript export."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from faceswap_vfx.face.extract import extract_dataset
from faceswap_vfx.io.image import Image, write_image
from faceswap_vfx.model.config import CombConfig
from faceswap_vfx.model.export import export_torchscript
from faceswap_vfx.train.checkpoint import latest_checkpoint, load_checkpoint, model_from_checkpoint
from faceswap_vfx.train.config import RunConfig, TrainConfig
from faceswap_vfx.train.dataset import TrainingData
from faceswap_vfx.train.feedback import read_scalars
from faceswap_vfx.train.loop import train

torch.set_num_threads(1)
pytestmark = pytest.mark.filterwarnings(
    r"ignore:`torch\.jit\.\w+` is deprecated:DeprecationWarning")


def test_train_on_extracted_datasets(astronaut, grace_hopper, tmp_path):
    data = []
    for name, image in (("astro", astronaut), ("grace", grace_hopper)):
        photos = tmp_path / "photos" / name
        write_image(Image.from_array(image, dtype=np.uint8), photos / f"{name}.png")
        manifest = extract_dataset(photos, tmp_path / "datasets" / name, name, 16)
        assert len(manifest["items"]) == 1
        data.append((name, str(tmp_path / "datasets" / name)))
    run = RunConfig(CombConfig(max_resolution=16, width=1 / 32, latent=16),
                    TrainConfig(batch_per_identity=2, fade_images=4, stabilise_images=4,
                                log_images=4, tensorboard=False), tuple(data))
    loaded = TrainingData(run.data, 16)
    assert loaded.sizes == (1, 1) and loaded.colorspace == "srgb_tx"
    assert 0.1 < loaded.identities["astro"].masks.float().mean() / 255 < 0.9
    result = train(run, tmp_path / "run", data=loaded)
    assert (result.images_seen, result.level) == (20, 2)
    assert all(np.isfinite(r["loss"]) for r in read_scalars(tmp_path / "run"))
    model = model_from_checkpoint(load_checkpoint(latest_checkpoint(tmp_path / "run")))
    crop = loaded.identities["astro"].crops.float()
    with torch.no_grad():
        torch.testing.assert_close(export_torchscript(model, "grace")(crop),
                                   model(crop, "grace"), rtol=0, atol=1e-6)
