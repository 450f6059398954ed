"""Training checkpoints: versioned, atomic, written by process 0 only.

A checkpoint is one ``torch.save`` file (loaded back with ``weights_only=True``: plain
tensors, numbers, strings, lists and dicts only) holding ``format``/``version``, both
configs, the identity names, the working colour space, ``level``, ``alpha``,
``images_seen``, ``step``, the model and optimiser state dicts and the RNG states (torch
CPU and CUDA, numpy, Python ``random``). The sampler and augmentation draw from
counter-based generators (:mod:`faceswap_vfx.train.sampler`), so ``step`` is their state.
Runs keep them as ``RUN/checkpoints/<images_seen, 12 digits>.pt``.
"""

from __future__ import annotations

import pickle
import random
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from faceswap_vfx.errors import CheckpointError, ParameterError
from faceswap_vfx.io.atomic import atomic_path
from faceswap_vfx.model.comb import CombNetwork
from faceswap_vfx.model.config import CombConfig
from faceswap_vfx.train.config import TrainConfig

CHECKPOINT_FORMAT = "faceswap_vfx.checkpoint"
CHECKPOINT_VERSION = 2
"""2: the train config has ``lr_scaling`` (version 1 trained with ``"none"``)."""
CHECKPOINT_DIR = "checkpoints"


def process_rank() -> int:
    """This process's rank in ``torch.distributed`` (0 when not distributed)."""
    dist = torch.distributed
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def rng_state() -> dict[str, Any]:
    """Every global RNG's state, as tensors and plain numbers."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()  # noqa: NPY002 (global state)
    py = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": pos,
                  "has_gauss": has_gauss, "gauss": gauss},
        "python": [py[0], list(py[1]), py[2]],
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` returned (CUDA states only where CUDA is present)."""
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"][:torch.cuda.device_count()])
    n = state["numpy"]
    keys = n["keys"].numpy().astype(np.uint32)
    np.random.set_state((n["kind"], keys, n["pos"], n["has_gauss"], n["gauss"]))  # noqa: NPY002
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))


@dataclass
class Checkpoint:
    """What a checkpoint holds; ``path`` is where it was read from (None before saving)."""

    model_config: CombConfig
    train_config: TrainConfig
    identities: tuple[str, ...]
    colorspace: str
    level: int
    alpha: float
    images_seen: int
    step: int
    model_state: dict[str, torch.Tensor]
    optimizer_state: dict[str, Any] | None = None
    rng: dict[str, Any] = field(default_factory=rng_state)
    path: Path | None = None

    def payload(self) -> dict[str, Any]:
        return {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION,
                "model_config": self.model_config.to_dict(),
                "train_config": self.train_config.to_dict(),
                "identities": list(self.identities), "colorspace": self.colorspace,
                "level": self.level, "alpha": self.alpha, "images_seen": self.images_seen,
                "step": self.step, "model": self.model_state,
                "optimizer": self.optimizer_state, "rng": self.rng}


def checkpoint_path(run_dir: str | Path, images_seen: int) -> Path:
    """``RUN/checkpoints/<images_seen>.pt``, zero-padded so names sort by progress."""
    return Path(run_dir) / CHECKPOINT_DIR / f"{images_seen:012d}.pt"


def list_checkpoints(run_dir: str | Path) -> list[Path]:
    """The run's checkpoints, oldest first."""
    folder = Path(run_dir) / CHECKPOINT_DIR
    return sorted(p for p in folder.glob("*.pt") if p.stem.isdigit()) if folder.is_dir() else []


def latest_checkpoint(run_dir: str | Path) -> Path:
    """The newest checkpoint of a run; :class:`CheckpointError` if there is none."""
    found = list_checkpoints(run_dir)
    if not found:
        raise CheckpointError("the run has no checkpoint yet", path=Path(run_dir) / CHECKPOINT_DIR)
    return found[-1]


def save_checkpoint(ckpt: Checkpoint, path: str | Path, keep: int | None = None
                    ) -> Path | None:
    """Write ``ckpt`` atomically to ``path`` on process 0 (other ranks write nothing and get
    None). ``keep``: then delete all but the ``keep`` newest checkpoints beside it."""
    if process_rank() != 0:
        return None
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(ckpt.payload(), tmp)
    if keep is not None:
        for old in list_checkpoints(path.parent.parent)[:-keep]:
            if old != path:
                old.unlink(missing_ok=True)
    return path


def load_checkpoint(path: str | Path, model_config: CombConfig | None = None,
                    identities: tuple[str, ...] | list[str] | None = None,
                    map_location: str | torch.device = "cpu") -> Checkpoint:
    """Read a checkpoint; with ``model_config``/``identities``, check it was made for them.

    Raises :class:`CheckpointError` naming the file when it is missing, truncated or
    corrupt, not a checkpoint, of a newer format version, or made for another config.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError("checkpoint not found", path=path)
    try:
        body = torch.load(path, map_location=map_location, weights_only=True)
    except (RuntimeError, EOFError, OSError, pickle.UnpicklingError, zipfile.BadZipFile,
            ValueError, KeyError) as exc:
        raise CheckpointError(f"checkpoint is truncated or corrupt ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else ''})",
                              path=path) from None
    if not isinstance(body, dict) or body.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"not a {CHECKPOINT_FORMAT} file", path=path)
    version = body.get("version")
    if not isinstance(version, int) or version < 1:
        raise CheckpointError(f"checkpoint version {version!r} is not a positive integer",
                              path=path)
    if version > CHECKPOINT_VERSION:
        raise CheckpointError(f"checkpoint version {version} was written by a newer "
                              f"faceswap_vfx; this one reads up to {CHECKPOINT_VERSION}",
                              path=path)
    try:
        train = dict(body["train_config"])
        if version == 1:
            train.setdefault("lr_scaling", "none")
        ckpt = Checkpoint(CombConfig.from_dict(body["model_config"]), TrainConfig.from_dict(train),
                          tuple(body["identities"]), str(body["colorspace"]),
                          int(body["level"]), float(body["alpha"]), int(body["images_seen"]),
                          int(body["step"]), body["model"], body["optimizer"], body["rng"],
                          path)
    except (KeyError, TypeError, ValueError, ParameterError) as exc:
        raise CheckpointError(f"checkpoint is incomplete: {exc!r}", path=path) from None
    if model_config is not None and ckpt.model_config != model_config:
        a, b = ckpt.model_config.to_dict(), model_config.to_dict()
        diff = ", ".join(f"{k} {a[k]!r} (asked {b[k]!r})" for k in a if a[k] != b[k])
        raise CheckpointError(f"checkpoint is for another network: {diff}", path=path)
    if identities is not None and tuple(identities) != ckpt.identities:
        raise CheckpointError(f"checkpoint is for identities {list(ckpt.identities)}, not "
                              f"{list(identities)}", path=path)
    return ckpt


def model_from_checkpoint(ckpt: Checkpoint, device: str | torch.device = "cpu") -> CombNetwork:
    """The checkpoint's network at its level, on ``device``, in float32.

    Built on the ``meta`` device and given the stored tensors, so no global RNG is drawn.
    """
    model = CombNetwork(ckpt.model_config, ckpt.identities, level=ckpt.level, device="meta")
    try:
        model.load_state_dict(ckpt.model_state, strict=True, assign=True)
    except RuntimeError as exc:
        raise CheckpointError(f"checkpoint weights do not fit the network: "
                              f"{str(exc).splitlines()[0]}", path=ckpt.path) from None
    return model.to(device=device, dtype=torch.float32)
