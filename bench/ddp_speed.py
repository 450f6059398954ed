"""Training speed through DistributedDataParallel vs the same step unwrapped, in images/s.

    python bench/ddp_speed.py                                  # CPU, gloo, 64 px, width 0.25
    python bench/ddp_speed.py --device cuda --bf16 --resolution 256 --width 1.0
    torchrun --standalone --nproc_per_node=4 bench/ddp_speed.py --device cuda --bf16

One process (no torchrun): times the loop's training step (encoder on every identity, each
head, masked L1 + MS-SSIM, backward, Adam) on the unwrapped network, then the same step
through a one-process DDP wrapper (``find_unused_parameters=True``, as training uses it), and
prints both and the ratio: the wrapper's cost where there is nothing to average.
Under torchrun with N processes it times the DDP step only and prints the images/s of all
processes together (N x batch x identities per step). The network sits at its last level,
alpha 1 (the previous level's RGB layers unused, as in a stabilise phase); crops are random
(speed does not depend on content), so no dataset is read. Median and best step times.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import time

import torch

from faceswap_vfx.model.comb import CombNetwork
from faceswap_vfx.model.config import CombConfig
from faceswap_vfx.model.losses import ReconstructionLoss
from faceswap_vfx.train.config import TrainConfig
from faceswap_vfx.train.distributed import init_from_env, rank_device, shutdown, wrap
from faceswap_vfx.train.loop import build_optimizer, resolve_device, train_step


def time_steps(args: argparse.Namespace, device: torch.device, ddp: bool) -> list[float]:
    """Seconds of each timed step (after the warm-up steps)."""
    cuda = device.type == "cuda"
    cfg = CombConfig(max_resolution=args.resolution, width=args.width)
    names = [f"id{i}" for i in range(args.identities)]
    torch.manual_seed(0)
    model = CombNetwork(cfg, names, level=cfg.max_level, device=device)
    if cuda:
        model.to(memory_format=torch.channels_last)
    train_cfg = TrainConfig(batch_per_identity=args.batch)
    opt = build_optimizer(model, train_cfg)
    loss_fn = ReconstructionLoss(train_cfg.loss_weights, train_cfg.background_weight).to(device)
    net = wrap(model, device, ddp=ddp)
    g = torch.Generator().manual_seed(0)
    r = args.resolution
    batches = {n: (torch.rand(args.batch, 3, r, r, generator=g).to(device),
                   torch.rand(args.batch, 1, r, r, generator=g).to(device)) for n in names}
    times = []
    for i in range(args.warmup + args.steps):
        if cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        train_step(model, opt, loss_fn, batches, 1.0, bf16=args.bf16 and cuda,
                   channels_last=cuda, net=net)
        if cuda:
            torch.cuda.synchronize()
        if i >= args.warmup:
            times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--width", type=float, default=0.25)
    p.add_argument("--identities", type=int, default=2)
    p.add_argument("--batch", type=int, default=8, help="crops per identity per step (per process)")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--bf16", action="store_true", help="bfloat16 autocast (CUDA only)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    launched = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if not launched:  # a group of one, so that DDP can be built
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        if "MASTER_PORT" not in os.environ:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                os.environ["MASTER_PORT"] = str(s.getsockname()[1])
        os.environ.update(RANK="0", WORLD_SIZE="1", LOCAL_RANK="0")
        dev = resolve_device(args.device)
        torch.distributed.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    else:
        init_from_env(args.device)
    try:
        world, rank = torch.distributed.get_world_size(), torch.distributed.get_rank()
        device = rank_device(resolve_device(args.device))
        per_step = args.batch * args.identities * world
        if rank == 0:
            name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
            print(f"torch {torch.__version__}, {world} process(es) on {name} "
                  f"({torch.distributed.get_backend()}), {args.resolution} px, width "
                  f"{args.width}, {args.identities} identities x {args.batch} crops per process, "
                  f"bf16 {args.bf16 and device.type == 'cuda'}")
            print(f"{'run':>10} {'median ms/step':>15} {'median img/s':>13} {'best img/s':>11}")
        runs = [("ddp", True)] if launched else [("unwrapped", False), ("ddp", True)]
        rates = {}
        for label, ddp in runs:
            times = time_steps(args, device, ddp)
            rates[label] = per_step / statistics.median(times)
            if rank == 0:
                print(f"{label:>10} {1000 * statistics.median(times):>15.1f} "
                      f"{rates[label]:>13.1f} {per_step / min(times):>11.1f}", flush=True)
        if rank == 0 and len(rates) == 2:
            print(f"DDP / unwrapped (median): {rates['ddp'] / rates['unwrapped']:.3f}")
    finally:
        shutdown()


if __name__ == "__main__":
    main()
