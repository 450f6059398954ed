"""Training against peers, at equal images seen and at equal wall time.

    python bench/train_vs_peers.py OUT --resolution 64 --widths 0.25 1.0 --images 2000

Data: for each bundled portrait, a scene-linear EXR plate sequence with known motion (turning,
zooming, drifting) and changing light (exposure +-1 stop, a moving shading ramp, a colour
cast), aligned and extracted by the project's own ``extract``; every fourth frame is held out.
Systems, trained on the same crops with the same augmentation and batch:

- ``comb wW``: this project's comb network at width W, progressive 4 px -> R, the defaults;
- ``faceswap original``: faceswap's Original architecture and default loss and optimiser
  (``bench/peer_original.py``), at R from the start;
- ``mean face``: each identity's mean training crop, whatever the input.

Each is scored on the held-out crops, reconstructed by its own identity's decoder: masked SSIM
and PSNR, and ``follows``, how much the output varies with its input (per-pixel standard
deviation over the held-out crops, output over target, inside the mask: 0 for the mean face).
"At equal images" every system sees ``--images``; "at equal time" the Original is scored
after as many images as its own speed here (measured alone for 60 s) gives it in the time
each comb run trained (training time alone, summed from the run's scalars; a finished comb
run in OUT is reused), so that other work on the machine cannot tilt the comparison. Writes
OUT/sheet_R.png (rows: held-out targets, then each system) and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
from peer_original import OriginalModel, optimizer, original_loss

from faceswap_vfx.eval.metrics import psnr
from faceswap_vfx.face.extract import extract_dataset
from faceswap_vfx.io.colour import convert
from faceswap_vfx.io.image import Image, write_image
from faceswap_vfx.model import ssim as _ssim
from faceswap_vfx.model.config import CombConfig
from faceswap_vfx.samples import plates, portraits
from faceswap_vfx.train.augment import augment
from faceswap_vfx.train.checkpoint import latest_checkpoint, load_checkpoint, model_from_checkpoint
from faceswap_vfx.train.config import RunConfig, TrainConfig
from faceswap_vfx.train.dataset import TrainingData
from faceswap_vfx.train.feedback import read_scalars
from faceswap_vfx.train.loop import train
from faceswap_vfx.train.sampler import step_generator

IDENTITIES = ("astronaut", "grace_hopper")
FRAMES = list(range(1001, 1065))
HELD_OUT = FRAMES[3::4]
PLATE = (360, 640)  # (h, w)


def write_plate(folder: Path, name: str) -> str:
    """A lit, moving plate of a bundled portrait; returns its pattern."""
    face = portraits.portrait(name)
    h, w = face.shape[:2]
    scale = 0.75 * PLATE[0] / max(h, w)

    def motion(i: int) -> np.ndarray:
        t = i / len(FRAMES) * 2 * math.pi
        centre = (PLATE[1] / 2 + 60 * math.sin(t), PLATE[0] / 2 + 10 * math.cos(2 * t))
        return plates.place((h, w), centre, scale * (1 + 0.1 * math.sin(3 * t)),
                            12 * math.sin(2 * t))

    frames, _ = plates.synth_sequence(face, len(FRAMES), PLATE, motion, noise=0.002, seed=3,
                                      exposure=lambda i: math.sin(i * 0.7))
    yy, xx = np.mgrid[0:PLATE[0], 0:PLATE[1]].astype(np.float32)
    for i, (frame, pixels) in enumerate(zip(FRAMES, frames, strict=True)):
        a = i * 0.9  # the light's direction turns; its colour drifts warm and cool
        ramp = 1 + 0.35 * ((xx - PLATE[1] / 2) * math.cos(a) + (yy - PLATE[0] / 2)
                           * math.sin(a)) / PLATE[0]
        cast = np.array([1 + 0.1 * math.sin(i * 0.5), 1.0, 1 - 0.1 * math.sin(i * 0.5)])
        linear = convert(pixels, "srgb_tx", "scene_linear") * ramp[..., None] * cast
        write_image(Image.from_array(linear.astype(np.float32), dtype=np.float16),
                    folder / f"plate.{frame}.exr", frame)
    return str(folder / "plate.####.exr")


def datasets(out: Path, resolution: int) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(train, held-out) ``(identity, dataset folder)`` pairs, extracted by the project."""
    train_data, held = [], []
    params = {"detector_upsample": 1, "max_gap": 0}
    for name in IDENTITIES:
        pattern = write_plate(out / "plates" / name, name)
        for kind, frames, into in (("train", sorted(set(FRAMES) - set(HELD_OUT)), train_data),
                                   ("held", HELD_OUT, held)):
            folder = out / f"data_{resolution}" / f"{name}_{kind}"
            if not (folder / "manifest.json").is_file():
                extract_dataset(pattern, folder, name, resolution, params,
                                frames=",".join(map(str, frames)))
            into.append((name, str(folder)))
    return train_data, held


def train_comb(out: Path, data, resolution: int, width: float, images: int) -> tuple:
    """This project's defaults, the schedule fitted to ``images``: every level but the last
    fades in and stabilises over ``images / (2 * levels)``, the last gets the rest. A run
    already finished in OUT is reused; its seconds are summed from its scalars."""
    model = CombConfig(max_resolution=resolution, width=width)
    per_level = images // (2 * model.max_level)
    cfg = TrainConfig(fade_images=per_level // 2, stabilise_images=per_level - per_level // 2,
                      max_images=images, log_images=max(64, images // 20),
                      preview_images=images, checkpoint_images=images, tensorboard=False)
    run_dir = out / f"comb_w{width:g}_{resolution}"
    train(RunConfig(model, cfg, tuple(data)), run_dir, resume=True)
    seconds, seen = 0.0, 0
    for r in read_scalars(run_dir):  # training time alone, as logged
        seconds += (r["images_seen"] - seen) / r["images_per_s"]
        seen = r["images_seen"]
    net = model_from_checkpoint(load_checkpoint(latest_checkpoint(run_dir))).eval()
    return (lambda x, n: net(x, n)), seconds


def train_original(data: TrainingData, held: TrainingData, resolution: int,
                   stops: list[tuple[str, int | None, float | None]]) -> list[tuple]:
    """faceswap's Original with its defaults, on the same augmented batches as the comb;
    scored at each stop ``(label, images, seconds)`` (whichever is given), the clock
    stopped while it is scored. Returns ``(label, images, seconds, scores, shown)``."""
    torch.manual_seed(0)
    model = OriginalModel(list(data.names), resolution)
    opt = optimizer(model)
    cfg = TrainConfig()
    seen, step, clock = 0, 0, 0.0
    gen_idx = torch.Generator().manual_seed(0)
    pending, results = list(stops), []
    while pending:
        reached = [s for s in pending if (s[1] is not None and seen >= s[1])
                   or (s[2] is not None and clock >= s[2])]
        for stop in reached:
            model.eval()
            s, shown = score(lambda x, n: model(x, n), held, resolution)
            model.train()
            results.append((stop[0], seen, clock, s, shown))
            pending.remove(stop)
        if not pending:
            break
        t0 = time.perf_counter()
        gen = step_generator(0, step, 0)
        opt.zero_grad(set_to_none=True)
        loss = 0.0
        for name in data.names:
            idx = torch.randint(data.sizes[data.names.index(name)], (cfg.batch_per_identity,),
                                generator=gen_idx)
            crops, masks = augment(*data.batch(name, idx, resolution), cfg.augment, gen)
            loss = loss + original_loss(model(crops, name), crops, masks)
            seen += len(idx)
        loss.backward()
        opt.step()
        step += 1
        clock += time.perf_counter() - t0
    return results


def original_rate(data: TrainingData, resolution: int, seconds: float = 60.0) -> float:
    """The Original's training images/s here, measured alone: its "equal time" runs then
    train by image count (rate x the comb's time), whatever else shares the machine."""
    train_original(data, data, resolution, [("warm-up", 32, None)])
    ((_, seen, clock, _, _),) = train_original(data, data, resolution,
                                               [("rate", None, seconds)])
    return seen / clock


def mean_face(data: TrainingData, resolution: int):
    means = {n: data.batch(n, torch.arange(data.sizes[i]), resolution)[0].mean(0, keepdim=True)
             for i, n in enumerate(data.names)}
    return lambda x, n: means[n].expand(len(x), -1, -1, -1)


def score(fn, held: TrainingData, resolution: int) -> tuple[dict[str, float], dict]:
    ssim, pnsr_, follows, shown = [], [], [], {}
    with torch.no_grad():
        for i, name in enumerate(held.names):
            crops, masks = held.batch(name, torch.arange(held.sizes[i]), resolution)
            out = fn(crops, name).clamp(0, 1)
            ssim.append(_ssim.ssim(out, crops, masks))
            pnsr_.append(psnr(out, crops, masks))
            inside = masks[0, 0] > 0.5
            follows.append(float(out.std(0).mean(0)[inside].mean()
                                 / crops.std(0).mean(0)[inside].mean()))
            shown[name] = (crops[:4], out[:4])
    return {"ssim": float(torch.cat(ssim).mean()), "psnr": float(torch.cat(pnsr_).mean()),
            "follows": float(np.mean(follows))}, shown


def sheet(path: Path, rows: list[tuple[str, dict]], cell: int = 96) -> None:
    """Held-out targets, then each system's reconstructions (4 per identity)."""
    lines = []
    targets = np.concatenate([c for _, (c, _) in rows[0][1].items()])
    lines.append(targets)
    lines += [np.concatenate([o for _, (_, o) in shown.items()]) for _, shown in rows]
    grid = []
    for line in lines:
        t = torch.nn.functional.interpolate(torch.as_tensor(line), size=(cell, cell),
                                            mode="nearest")
        grid.append(torch.cat(list(t), dim=2))
    image = torch.cat(grid, dim=1).permute(1, 2, 0).numpy()
    write_image(Image.from_array(image, dtype=np.uint8), path)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out", nargs="?", default="peers_run")
    p.add_argument("--resolution", type=int, default=64, choices=(64, 128))
    p.add_argument("--widths", type=float, nargs="+", default=[0.25, 1.0])
    p.add_argument("--images", type=int, default=2000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-original-images", type=int,
                   help="stop the Original's equal-time runs here (reported as capped)")
    p.add_argument("--original-rate", type=float,
                   help="the Original's img/s here, if measured already (else 60 s alone)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    out, r = Path(args.out), args.resolution
    data, held = datasets(out, r)
    loaded, held_loaded = TrainingData(data, r), TrainingData(held, r)
    print(f"data: {loaded.sizes} training crops, {held_loaded.sizes} held out, {r} px")
    results, rows, times = [], [], []
    for width in args.widths:
        fn, seconds = train_comb(out, data, r, width, args.images)
        times.append((width, seconds))
        s, shown = score(fn, held_loaded, r)
        results.append((f"comb w{width:g}", args.images, seconds, s))
        rows.append((f"comb w{width:g}", shown))
    rate = args.original_rate or original_rate(loaded, r)
    print(f"faceswap original: {rate:.2f} img/s on this machine")
    stops = [("faceswap original, equal images", args.images, None)]
    for w, t in times:
        n = round(rate * t)
        if args.max_original_images and n > args.max_original_images:
            stops.append((f"faceswap original, capped at {args.max_original_images} images of "
                          f"the {n} it trains in the time of comb w{w:g}",
                          args.max_original_images, None))
        else:
            stops.append((f"faceswap original, the time of comb w{w:g}", n, None))
    for label, seen, _, s, shown in train_original(loaded, held_loaded, r, stops):
        results.append((label, seen, seen / rate, s))
        rows.append((label.replace("faceswap original, ", "original: "), shown))
    s, shown = score(mean_face(loaded, r), held_loaded, r)
    results.append(("mean face", 0, 0.0, s))
    rows.append(("mean face", shown))
    sheet(out / f"sheet_{r}.png", rows)
    print(f"\n{r} px, {args.threads} threads; rows of {out / f'sheet_{r}.png'}: targets, "
          + ", ".join(n for n, _ in rows))
    print("| system | images | seconds | img/s | masked SSIM | masked PSNR | follows |")
    print("|---|---|---|---|---|---|---|")
    for name, n, sec, s in results:
        rate = f"{n / sec:.1f}" if sec else "-"
        print(f"| {name} | {n} | {sec:.0f} | {rate} | {s['ssim']:.3f} | {s['psnr']:.1f} dB "
              f"| {s['follows']:.2f} |")
    (out / f"results_{r}.json").write_text(json.dumps(
        [{"system": n, "images": i, "seconds": t, **s} for n, i, t, s in results], indent=1))


if __name__ == "__main__":
    main()
