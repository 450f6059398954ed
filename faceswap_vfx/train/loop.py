"""The progressive training loop of the comb network.

Each step: ``level, alpha = schedule(images_seen)``; on a new level the network grows and
Adam is rebuilt over its parameters, the old ones keeping their state
(:mod:`faceswap_vfx.train.optimizer`); every identity contributes ``batch_per_identity``
augmented crops; the shared encoder (and trunk) sees all of them, each head only its own
identity's; the loss is the mean over identities of the masked reconstruction loss.
``images_seen`` grows by ``batch_per_identity * identities * processes`` per step.

A run lives in a folder ``RUN``: ``config.json`` (:class:`~faceswap_vfx.train.config.RunConfig`),
``checkpoints/``, ``previews/<images_seen>.png``, ``scalars.jsonl`` and ``tensorboard/``.
Process 0 alone writes there. On CPU with ``deterministic`` on, a run resumed from a
checkpoint repeats an uninterrupted run with the same seed bit for bit. Several processes
(``torchrun ... -m faceswap_vfx.train``) train one network with DDP: see
:mod:`faceswap_vfx.train.distributed`.
"""

from __future__ import annotations

import logging
import random
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from faceswap_vfx.errors import (
    DatasetError,
    ParameterError,
    Terminated,
    TrainingDivergedError,
)
from faceswap_vfx.model.comb import CombNetwork
from faceswap_vfx.model.losses import ReconstructionLoss
from faceswap_vfx.train.augment import augment
from faceswap_vfx.train.checkpoint import (
    Checkpoint,
    checkpoint_path,
    list_checkpoints,
    load_checkpoint,
    model_from_checkpoint,
    process_rank,
    save_checkpoint,
    set_rng_state,
)
from faceswap_vfx.train.config import RunConfig
from faceswap_vfx.train.dataset import TrainingData
from faceswap_vfx.train.distributed import (
    CombForward,
    init_from_env,
    rank_device,
    sync_step,
    world_size,
    wrap,
)
from faceswap_vfx.train.divergence import DivergenceWatch, non_finite_parameters
from faceswap_vfx.train.feedback import Feedback
from faceswap_vfx.train.optimizer import build_optimizer, regrow_optimizer
from faceswap_vfx.train.preview import preview_grid, preview_inputs, write_preview
from faceswap_vfx.train.sampler import BalancedSampler, step_generator
from faceswap_vfx.train.schedule import schedule

log = logging.getLogger("faceswap_vfx.train")

CONFIG = "config.json"
PREVIEWS = "previews"

Batches = dict[str, tuple[torch.Tensor, torch.Tensor]]
"""Identity -> (crops ``(B, 3, R, R)``, masks ``(B, 1, R, R)``), on the model's device."""


def resolve_device(name: str) -> torch.device:
    """``"auto"``: CUDA when present, else CPU; anything else as torch reads it
    (:class:`ParameterError` for a name torch does not know)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(name)
    except RuntimeError:
        raise ParameterError(f"unknown device {name!r} (auto, cpu, cuda, cuda:1, ...)") from None


def output_follows(y: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """How much the output ``(B, 3, R, R)`` varies with its input: its per-pixel standard
    deviation over the batch, averaged over the pixels, over the target's. 0 for a network
    that gives one image whatever it is shown (a collapsed one), about 1 for one that
    reproduces its input; NaN for a batch of one (not measured)."""
    if len(y) < 2:
        return torch.full((), float("nan"), device=y.device)
    y, target = y.detach().float(), target.detach().float()
    return y.std(0).mean() / target.std(0).mean().clamp_min(1e-6)


def train_step(model: CombNetwork, optimizer: torch.optim.Optimizer, loss_fn: ReconstructionLoss,
               batches: Batches, alpha: float, *, bf16: bool = False,
               channels_last: bool = False, net: torch.nn.Module | None = None
               ) -> dict[str, float]:
    """One optimiser step; returns ``"loss"`` (mean over identities), each loss term,
    ``"loss_<identity>"`` and ``"follows"`` (:func:`output_follows`), as floats. ``bf16``:
    bfloat16 autocast of the network (the loss runs in float32). ``net``: the
    :func:`~faceswap_vfx.train.distributed.wrap` of ``model`` to run the forward through (DDP
    when distributed; default: ``model`` unwrapped)."""
    names = list(batches)
    x = torch.cat([batches[n][0] for n in names])
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    optimizer.zero_grad(set_to_none=True)
    net = CombForward(model) if net is None else net
    with torch.autocast(x.device.type, torch.bfloat16, enabled=bf16):
        outputs = net(x, [len(batches[n][0]) for n in names], names, alpha)
    total, out = 0.0, {}
    for name, y in zip(names, outputs, strict=True):
        crops, masks = batches[name]
        terms = loss_fn.terms(y.float(), crops, masks)
        loss = sum(loss_fn.weights[k] * v for k, v in terms.items())
        total = total + loss / len(names)
        out[f"loss_{name}"] = loss.detach()
        out["follows"] = out.get("follows", 0.0) + output_follows(y, crops) / len(names)
        for k, v in terms.items():
            out[k] = out.get(k, 0.0) + v.detach() / len(names)
    total.backward()
    optimizer.step()
    return {"loss": float(total.detach()), **{k: float(v) for k, v in out.items()}}


@dataclass(frozen=True)
class TrainResult:
    """Where a call to :func:`train` stopped."""

    images_seen: int
    step: int
    level: int
    alpha: float
    checkpoint: Path | None
    seconds: float


def _crossed(before: int, after: int, every: int) -> bool:
    return after // every > before // every


class _GracefulStop:
    """While active (main thread only), a first Ctrl-C or SIGTERM (a farm's stop) asks the
    loop to stop after the current step; a second one interrupts at once."""

    def __init__(self) -> None:
        self.requested: type[KeyboardInterrupt] | None = None
        self._old: dict[int, object] = {}

    def __enter__(self) -> _GracefulStop:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._old[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum: int, frame: object) -> None:
        kind = Terminated if signum == signal.SIGTERM else KeyboardInterrupt
        if self.requested:
            raise kind
        self.requested = kind
        log.warning("stopping after this step (%s again to stop at once, unsaved)",
                    "SIGTERM" if kind is Terminated else "Ctrl-C")

    def __exit__(self, *exc: object) -> None:
        for signum, old in self._old.items():
            signal.signal(signum, old)


def _start(run: RunConfig, run_dir: Path, data: TrainingData, found: list[Path],
           device: torch.device, rank: int) -> tuple[CombNetwork, Checkpoint | None]:
    """The network to train: from the newest of ``found`` checkpoints, or new and seeded.
    Process 0 writes ``config.json`` either way (a resume may have changed ``max_images``)."""
    ckpt = None
    if found:
        ckpt = load_checkpoint(found[-1], run.model, run.identities, map_location="cpu")
        if ckpt.colorspace != data.colorspace:
            raise DatasetError(f"datasets are in {data.colorspace}, the run was trained in "
                               f"{ckpt.colorspace}", path=run.data[0][1])
        model = model_from_checkpoint(ckpt, device)
        log.info("resuming %s at %d images (level %d)", ckpt.path, ckpt.images_seen, ckpt.level)
    else:
        seed = run.train.seed
        torch.manual_seed(seed)
        np.random.seed(seed % 2**32)  # noqa: NPY002 (the global state, saved)
        random.seed(seed)
        model = CombNetwork(run.model, run.identities, device=device)
    if rank == 0:
        run.save(run_dir / CONFIG)
    return model, ckpt


def train(run: RunConfig, run_dir: str | Path, *, resume: bool = False,
          data: TrainingData | None = None, until_images: int | None = None,
          on_step: Callable[[int, int, dict[str, float]], None] | None = None) -> TrainResult:
    """Train ``run`` in ``run_dir``; returns where it stopped.

    ``resume``: continue from the newest checkpoint (a fresh start if there is none).
    ``data``: the loaded datasets (default: read ``run.data``). ``until_images``: stop (with a
    checkpoint) once this many images are seen, before the run's end. ``on_step(step,
    images_seen, losses)`` (this process's losses) is called after every step's update, before
    its records and checkpoint. A first Ctrl-C (SIGTERM) finishes the step, writes a checkpoint
    and raises ``KeyboardInterrupt`` (:class:`~faceswap_vfx.errors.Terminated`); any other
    exception leaves the last checkpoint as it was (like a kill). Under torchrun, every process
    runs this with the same arguments.
    """
    t0, run_dir, cfg, mcfg = time.perf_counter(), Path(run_dir), run.train, run.model
    init_from_env(cfg.device)  # under torchrun: join its process group (no-op otherwise)
    rank, world = process_rank(), world_size()
    device = rank_device(resolve_device(cfg.device))
    cuda = device.type == "cuda"
    sched = cfg.schedule(mcfg.max_level)
    stop = cfg.stop_images(mcfg.max_level)
    stop = stop if until_images is None else min(stop, until_images)
    found = list_checkpoints(run_dir)
    if found and not resume:
        raise ParameterError("the run folder already has checkpoints: resume it or train "
                             "into another folder", path=run_dir)
    if data is None:
        data = TrainingData(run.data, mcfg.max_resolution)
    if data.resolution != mcfg.max_resolution:
        raise ParameterError(f"datasets loaded at {data.resolution} px for a network of "
                             f"{mcfg.max_resolution} px")
    if data.names != run.identities:
        raise DatasetError(f"datasets hold identities {list(data.names)}, the run "
                           f"{list(run.identities)}")
    model, ckpt = _start(run, run_dir, data, found, device, rank)
    images_seen, step = (ckpt.images_seen, ckpt.step) if ckpt else (0, 0)
    if cfg.channels_last and cuda:
        model.to(memory_format=torch.channels_last)
    optimizer = build_optimizer(model, cfg)
    net = wrap(model, device)  # DDP when distributed: rebuilt below whenever the network grows
    if ckpt is not None:
        optimizer.load_state_dict(ckpt.optimizer_state)
        set_rng_state(ckpt.rng)
    loss_fn = ReconstructionLoss(cfg.loss_weights, cfg.background_weight, cfg.loss_options)
    loss_fn = loss_fn.to(device)
    sampler = BalancedSampler(data.sizes, cfg.batch_per_identity, cfg.seed, rank, world)
    per_step = cfg.batch_per_identity * len(data.names) * world
    previews = preview_inputs(data, cfg.preview_per_identity)
    feedback = Feedback(run_dir, images_seen, stop, tensorboard=cfg.tensorboard,
                        enabled=rank == 0)
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(cfg.deterministic and not cuda or was_deterministic)
    level, alpha, saved = model.level, 1.0, found[-1] if found else None
    watch = DivergenceWatch(cfg.divergence_factor, cfg.divergence_images)
    flush_denormal = torch.set_flush_denormal(device.type == "cpu")  # True where supported

    def save() -> Path | None:
        bad = non_finite_parameters(model)
        if bad:
            raise TrainingDivergedError(
                f"{len(bad)} weight tensors hold NaN or infinity at {images_seen} images "
                f"({', '.join(bad[:3])}, ...): not saved. Last good checkpoint: {saved}")
        state = Checkpoint(mcfg, cfg, run.identities, data.colorspace, model.level, alpha,
                           images_seen, step, model.state_dict(), optimizer.state_dict())
        return save_checkpoint(state, checkpoint_path(run_dir, images_seen),
                               keep=cfg.keep_checkpoints)

    def preview() -> None:
        if rank == 0:
            grid = preview_grid(model, previews, alpha)
            write_preview(grid, run_dir / PREVIEWS / f"{images_seen:012d}.png")
            feedback.image("preview", grid, images_seen)

    try:
        with _GracefulStop() as stop_request:
            while images_seen < stop:
                level, alpha = schedule(images_seen, sched)
                if level != model.level:
                    del net  # the old wrapper's hooks cover the old parameter list only
                    model.grow_to(level)
                    if cfg.channels_last and cuda:
                        model.to(memory_format=torch.channels_last)
                    optimizer = regrow_optimizer(model, cfg, optimizer)
                    net = wrap(model, device)
                    log.info("level %d: %d px, fading in over %d images", level,
                             model.resolution, sched.fade(level))
                gen = step_generator(cfg.seed, step, rank)
                batches = {}
                for name, idx in zip(data.names, sampler.indices(step), strict=True):
                    crops, masks = data.batch(name, idx, model.resolution)
                    batches[name] = augment(crops.to(device), masks.to(device), cfg.augment, gen)
                terms = train_step(model, optimizer, loss_fn, batches, alpha,
                                   bf16=cfg.bf16 and cuda, channels_last=cfg.channels_last and cuda,
                                   net=net)
                before, step, images_seen = images_seen, step + 1, images_seen + per_step
                if on_step is not None:
                    on_step(step, images_seen, terms)
                terms, stopping = sync_step(terms, bool(stop_request.requested))  # process means
                feedback.step(images_seen, level, alpha, terms)
                watch.observe(images_seen, level, terms["loss"], terms["follows"], saved)
                end = images_seen >= stop or stopping
                if _crossed(before, images_seen, cfg.log_images) or end:
                    feedback.record(images_seen, step, level, alpha)
                if _crossed(before, images_seen, cfg.preview_images) or end:
                    preview()
                periodic = _crossed(before, images_seen, cfg.checkpoint_images)
                if end or periodic and not watch.suspect:  # none while the watch suspects
                    saved = save()
                if stopping:
                    log.warning("interrupted: checkpoint %s", saved)
                    raise stop_request.requested or KeyboardInterrupt
    finally:
        feedback.close()
        torch.use_deterministic_algorithms(was_deterministic)
        if flush_denormal:
            torch.set_flush_denormal(False)
    seconds = time.perf_counter() - t0
    log.info("stopped at %d images (level %d, alpha %.2f) after %.1f s", images_seen, level,
             alpha, seconds)
    return TrainResult(images_seen, step, model.level, alpha, saved, seconds)
