"""Training speed of the comb network in images/s: one full step as the loop runs it.

    python bench/train_speed.py                        # 64 and 128 px, width 0.25, 2 threads
    python bench/train_speed.py --resolutions 256 512 1024 --width 1.0 --device cuda --bf16

A step is the loop's: balanced batch of in-memory crops resized to the level, augmentation
(similarity warp, flip, colour), encoder on all identities, each identity's decoder, masked
L1 + MS-SSIM loss, backward, Adam. The network sits at the last level with alpha = 1
(``--alpha 0.5`` times a fade-in step). Crops are random: speed does not depend on content.
Each step is timed alone; the median and the best step are printed (the best is the figure
for an unloaded machine when other work shares the cores), and the share of the time spent
making the batch (crops, augmentation) rather than in the network's step; ``--profile``
prints the operators that take the time.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from faceswap_vfx.model.comb import CombNetwork
from faceswap_vfx.model.config import CombConfig
from faceswap_vfx.model.losses import ReconstructionLoss
from faceswap_vfx.train.augment import augment
from faceswap_vfx.train.config import TrainConfig
from faceswap_vfx.train.dataset import resize_square
from faceswap_vfx.train.loop import build_optimizer, resolve_device, train_step
from faceswap_vfx.train.sampler import BalancedSampler, step_generator


def bench(resolution: int, args: argparse.Namespace) -> dict[str, float]:
    device = resolve_device(args.device)
    cuda = device.type == "cuda"
    cfg = CombConfig(max_resolution=resolution, width=args.width)
    train_cfg = TrainConfig(batch_per_identity=args.batch)
    names = [f"id{i}" for i in range(args.identities)]
    torch.manual_seed(0)
    model = CombNetwork(cfg, names, level=cfg.max_level, device=device)
    if cuda:
        model.to(memory_format=torch.channels_last)
    opt = build_optimizer(model, train_cfg)
    loss_fn = ReconstructionLoss(train_cfg.loss_weights, train_cfg.background_weight).to(device)
    g = torch.Generator().manual_seed(0)
    crops = {n: torch.rand(32, 3, resolution, resolution, generator=g).half() for n in names}
    masks = {n: torch.rand(32, 1, resolution, resolution, generator=g).half() for n in names}
    sampler = BalancedSampler([32] * len(names), args.batch, seed=0)

    phases = {"data": 0.0, "step": 0.0}

    def step(i: int) -> float:
        t0 = time.perf_counter()
        gen = step_generator(0, i)
        batches = {}
        for n, idx in zip(names, sampler.indices(i), strict=True):
            x = resize_square(crops[n][idx].float(), resolution).to(device)
            m = resize_square(masks[n][idx].float(), resolution).to(device)
            batches[n] = augment(x, m, train_cfg.augment, gen)
        t1 = time.perf_counter()
        loss = train_step(model, opt, loss_fn, batches, args.alpha, bf16=args.bf16 and cuda,
                          channels_last=cuda)["loss"]
        phases["data"] += t1 - t0
        phases["step"] += time.perf_counter() - t1
        return loss

    for i in range(args.warmup):
        step(i)
    phases.update(data=0.0, step=0.0)
    times = []
    for i in range(args.steps):
        if cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        step(args.warmup + i)
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    per_step = args.batch * len(names)
    params = sum(p.numel() for p in model.parameters())
    if args.profile:  # where a step's time goes, by operator (CPU time, self)
        from torch.profiler import ProfilerActivity, profile

        acts = [ProfilerActivity.CPU] + [ProfilerActivity.CUDA] * cuda
        with profile(activities=acts) as prof:
            for i in range(3):
                step(10_000 + i)
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))
    return {"median_images_per_s": per_step / statistics.median(times),
            "data_share": phases["data"] / (phases["data"] + phases["step"]),
            "best_images_per_s": per_step / min(times),
            "median_ms_per_step": 1000 * statistics.median(times), "params_m": params / 1e6}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--resolutions", type=int, nargs="+", default=[64, 128])
    p.add_argument("--width", type=float, default=0.25)
    p.add_argument("--identities", type=int, default=2)
    p.add_argument("--batch", type=int, default=8, help="crops per identity per step")
    p.add_argument("--alpha", type=float, default=1.0)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--bf16", action="store_true", help="bfloat16 autocast (CUDA only)")
    p.add_argument("--profile", action="store_true",
                   help="also print the operators that take a step's time")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    print(f"torch {torch.__version__}, {device}, {torch.get_num_threads()} threads, width "
          f"{args.width}, {args.identities} identities x {args.batch} crops a step, "
          f"alpha {args.alpha}, bf16 {args.bf16 and device.type == 'cuda'}")
    print(f"{'px':>5} {'params (M)':>11} {'median ms/step':>15} {'median img/s':>13} "
          f"{'best img/s':>11} {'data share':>11}")
    for r in args.resolutions:
        out = bench(r, args)
        print(f"{r:>5} {out['params_m']:>11.2f} {out['median_ms_per_step']:>15.1f} "
              f"{out['median_images_per_s']:>13.1f} {out['best_images_per_s']:>11.1f} "
              f"{out['data_share']:>11.1%}", flush=True)


if __name__ == "__main__":
    main()
