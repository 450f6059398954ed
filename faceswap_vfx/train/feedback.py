"""Live feedback of a training run: progress bar, log lines, ``scalars.jsonl``, TensorBoard.

Every ``log_images`` images one record (losses averaged over the steps since the last one)
goes to ``RUN/scalars.jsonl`` (one JSON object per line, for programs and tests), to
TensorBoard (``RUN/tensorboard``, when enabled; x axis: images seen) and to the log as a
plain ``Progress: NN%`` line for render-farm managers. A tqdm bar shows level, alpha,
images/s and loss to people at a terminal. Only process 0 reports. A resumed run first
drops the records written after its checkpoint.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from faceswap_vfx.io.atomic import atomic_write_text

log = logging.getLogger("faceswap_vfx.train")

SCALARS = "scalars.jsonl"
TENSORBOARD = "tensorboard"


def read_scalars(run_dir: str | Path) -> list[dict[str, Any]]:
    """The records of ``RUN/scalars.jsonl`` (empty if there is none)."""
    path = Path(run_dir) / SCALARS
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class Feedback:
    """Reports of one run from ``start_images`` to ``stop_images``; ``enabled`` False
    (processes other than 0) makes every method a no-op."""

    def __init__(self, run_dir: str | Path, start_images: int, stop_images: int, *,
                 tensorboard: bool = True, enabled: bool = True):
        self.run_dir, self.enabled = Path(run_dir), enabled
        self.stop = stop_images
        self._sums: dict[str, float] = {}
        self._steps = 0
        self._last = (time.perf_counter(), start_images)
        self._writer = None
        self._bar = None
        if not enabled:
            return
        kept = [r for r in read_scalars(run_dir) if r["images_seen"] <= start_images]
        atomic_write_text(self.run_dir / SCALARS, "".join(json.dumps(r) + "\n" for r in kept))
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter  # ~1 s to import

            self._writer = SummaryWriter(str(self.run_dir / TENSORBOARD),
                                         purge_step=start_images or None)
        self._bar = tqdm(total=stop_images, initial=start_images, unit="img", unit_scale=True,
                         dynamic_ncols=True, disable=None, desc="train")

    def step(self, images_seen: int, level: int, alpha: float, terms: dict[str, float]
             ) -> None:
        """After each step: ``terms`` are the step's losses (``"loss"`` is the total)."""
        if not self.enabled:
            return
        for k, v in terms.items():
            self._sums[k] = self._sums.get(k, 0.0) + v
        self._steps += 1
        if self._bar is not None:
            self._bar.update(images_seen - self._bar.n)
            self._bar.set_postfix(level=level, alpha=f"{alpha:.2f}", loss=f"{terms['loss']:.4f}",
                                  refresh=False)

    def record(self, images_seen: int, step: int, level: int, alpha: float) -> None:
        """Write one record of the losses averaged since the last record."""
        if not self.enabled or not self._steps:
            return
        now, (then, before) = time.perf_counter(), self._last
        rate = (images_seen - before) / max(now - then, 1e-9)
        self._last = (now, images_seen)
        means = {k: v / self._steps for k, v in self._sums.items()}
        self._sums, self._steps = {}, 0
        rec = {"images_seen": images_seen, "step": step, "level": level, "alpha": alpha,
               **means, "images_per_s": rate}
        with open(self.run_dir / SCALARS, "a") as f:
            f.write(json.dumps(rec) + "\n")
        if self._writer is not None:
            for k, v in means.items():
                self._writer.add_scalar(f"loss/{k}", v, images_seen)
            self._writer.add_scalar("schedule/level", level, images_seen)
            self._writer.add_scalar("schedule/alpha", alpha, images_seen)
            self._writer.add_scalar("speed/images_per_s", rate, images_seen)
        others = " ".join(f"{k} {v:.4f}" for k, v in means.items() if k != "loss")
        log.info("Progress: %d%% level %d (%d px) alpha %.2f images %d/%d loss %.4f (%s) "
                 "%.1f img/s", int(100 * images_seen / max(self.stop, 1)), level, 4 << level,
                 alpha, images_seen, self.stop, means["loss"], others, rate)

    def image(self, name: str, grid: np.ndarray, images_seen: int) -> None:
        """Show a preview grid ``(H, W, 3)`` float in [0, 1] in TensorBoard."""
        if self.enabled and self._writer is not None:
            self._writer.add_image(name, grid, images_seen, dataformats="HWC")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        if self._writer is not None:
            self._writer.close()
