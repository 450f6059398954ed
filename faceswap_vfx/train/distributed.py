"""Training on several GPUs (or machines) with ``torch.distributed`` and DDP.

``torchrun --nproc_per_node=N -m faceswap_vfx.train ...`` starts one process per GPU and sets
``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``;
:func:`init_from_env` joins them into one process group (NCCL on CUDA, gloo on CPU). Across
machines torchrun's rendezvous does the same (``--nnodes``, ``--rdzv-endpoint``).

How the loop (:mod:`faceswap_vfx.train.loop`) uses it:

* sampling: :class:`~faceswap_vfx.train.sampler.BalancedSampler` gives process ``rank`` its
  own block of ``batch_per_identity`` crops of every identity's step draw, so one step of N
  processes trains on the same global batch as one process with N times the batch;
  augmentation draws from ``step_generator(seed, step, rank)``;
* the step runs through :class:`CombForward` (the encoder on every identity's crops, each
  head on its own), so DDP sees one forward and its gradient hooks cover every parameter;
* :func:`wrap` builds DDP with ``find_unused_parameters=True``: at ``alpha = 1`` the previous
  level's from/to-RGB layers get no gradient (they stay for the next fade), and a head whose
  identity is not in a batch gets none either. Gradients are averaged over processes; a
  parameter no process used keeps ``grad = None``, as in one process, so Adam skips it;
* DDP fixes its parameter list when it is built: the loop calls :func:`wrap` again after
  every grow (the old wrapper is dropped first);
* checkpoints, previews, scalars and ``config.json`` are written by process 0 only
  (:func:`~faceswap_vfx.train.checkpoint.save_checkpoint`); :func:`sync_step` averages the
  logged losses over processes and makes a Ctrl-C on any process stop all of them after the
  same step.

Every process must see the same run folder (a shared file system across machines): a resume
reads the newest checkpoint there on every rank. Resume with the same number of processes to
repeat the uninterrupted run's draws; another number continues correctly but with other draws.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Sequence

import torch
from torch import nn

from faceswap_vfx.model.comb import CombNetwork

log = logging.getLogger("faceswap_vfx.train")

# Imported with this module, so before the process group exists whenever this module is
# imported first (the train command, the tests). Its functions take ``group=group.WORLD``
# as a default argument, bound at first import, and DDP imports the module while it is
# built. Imported after ``init_process_group``, those defaults hold the live group, so
# ``destroy_process_group`` cannot free it: gloo's threads (``pt_gloo_runloop``,
# ``gloo_tcp_loop``) kept running until the interpreter's last garbage collection freed the
# group among half-torn-down modules, and now and then a finished process died there with
# SIGABRT ("terminate called without an active exception"), which torchrun reports as a
# failed run. Imported now, the defaults are None (the default group, looked up at each
# call).
if torch.distributed.is_available():
    import torch.distributed.nn.functional  # noqa: F401, E402


def is_distributed() -> bool:
    """True inside an initialised process group."""
    dist = torch.distributed
    return dist.is_available() and dist.is_initialized()


def world_size() -> int:
    """Processes in the group (1 when not distributed)."""
    return torch.distributed.get_world_size() if is_distributed() else 1


def init_from_env(device: str = "auto") -> bool:
    """Join the process group torchrun describes in the environment; returns whether one
    was joined (False for a plain single process: no ``WORLD_SIZE``, or 1).

    ``device`` (the run's ``--device``): NCCL when it is CUDA (or ``auto`` with CUDA present)
    and every process then uses ``cuda:LOCAL_RANK``; gloo otherwise. Idempotent.
    """
    dist = torch.distributed
    if is_distributed():
        return True
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    cuda = torch.cuda.is_available() and not str(device).startswith("cpu")
    if cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group("nccl" if cuda else "gloo")
    log.info("process %d of %d (%s)", dist.get_rank(), dist.get_world_size(), dist.get_backend())
    return True


def shutdown() -> None:
    """Leave the process group, if in one: its threads and connections end here."""
    if is_distributed():
        torch.distributed.destroy_process_group()


def rank_device(device: torch.device) -> torch.device:
    """This process's device: a bare ``cuda`` becomes ``cuda:LOCAL_RANK`` when distributed."""
    if device.type == "cuda" and device.index is None and is_distributed():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return device


class CombForward(nn.Module):
    """One forward over every identity's crops, as DDP needs: the shared encoder on all of
    them, then each identity's decoder on its own latents.

    ``forward(x, sizes, names, alpha)``: ``x`` ``(sum(sizes), 3, R, R)``, the crops of
    ``names[i]`` being the ``sizes[i]`` rows after those of ``names[:i]``; returns one
    ``(sizes[i], 3, R, R)`` output per name. Holds ``model`` (its state-dict keys are
    ``model.*``; save ``model.state_dict()`` itself).
    """

    def __init__(self, model: CombNetwork):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, sizes: Sequence[int], names: Sequence[str],
                alpha: float) -> tuple[torch.Tensor, ...]:
        if len(sizes) != len(names) or sum(sizes) != len(x):
            raise ValueError(f"sizes {list(sizes)} do not split a batch of {len(x)} crops "
                             f"between {list(names)}")
        z = self.model.encode(x, alpha)
        return tuple(self.model.decode(zi, name, alpha)
                     for name, zi in zip(names, z.split(list(sizes)), strict=True))


def wrap(model: CombNetwork, device: torch.device, *, ddp: bool | None = None) -> nn.Module:
    """The module the training step calls: :class:`CombForward` of ``model``, inside
    ``DistributedDataParallel`` when ``ddp`` (default: when distributed).

    Call again after ``model`` grows; drop the previous wrapper first (its gradient hooks
    belong to the old parameter list).
    """
    forward = CombForward(model)
    if not (is_distributed() if ddp is None else ddp):
        return forward
    gc.collect()  # a dropped wrapper's reducer (and its hooks) goes now, not at some later point
    ids = [device.index if device.index is not None else torch.cuda.current_device()] \
        if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(forward, device_ids=ids,
                                               find_unused_parameters=True)


def sync_step(terms: dict[str, float], stop: bool) -> tuple[dict[str, float], bool]:
    """Average the step's logged ``terms`` over processes and stop everywhere if any process
    asked to (one all-reduce). Unchanged when not distributed."""
    if not is_distributed():
        return terms, stop
    keys = sorted(terms)
    backend = torch.distributed.get_backend()
    device = torch.device("cuda", torch.cuda.current_device()) if backend == "nccl" else "cpu"
    values = torch.tensor([terms[k] for k in keys] + [float(stop)], dtype=torch.float64,
                          device=device)
    torch.distributed.all_reduce(values)
    values = values.cpu()
    n = torch.distributed.get_world_size()
    return {k: float(v) / n for k, v in zip(keys, values[:-1], strict=True)}, bool(values[-1] > 0)
