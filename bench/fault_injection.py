"""kill -9 and SIGTERM at random points of renders and trainings, then the same command again:
the outputs must be bit-identical to an uninterrupted run's, with no temporary file left.

    python bench/fault_injection.py OUT --trials 20

Renders: the demo's plate, alignment and model (``faceswap-vfx demo`` once), 8 frames.
Trainings: a small two-identity run on the demo's datasets (``faceswap-vfx train``), resumed
after the kill (run again from the start when killed before its config was written). Each
trial kills after a random delay (seeded), reruns, and compares every output file (renders)
or the final checkpoint's weights (training) with the reference run.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

COMMAND = [sys.executable, "-m", "faceswap_vfx.cli.main"]


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if p.is_file()}


def weights(run: Path) -> dict[str, torch.Tensor]:
    from faceswap_vfx.train.checkpoint import latest_checkpoint, load_checkpoint

    return load_checkpoint(latest_checkpoint(run)).model_state


def interrupted(argv: list[str], delay: float, sig: int) -> int:
    """Run ``argv``, send ``sig`` after ``delay`` s (if still running); its exit code."""
    proc = subprocess.Popen(COMMAND + argv, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(sig)
    return proc.wait(timeout=600)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out", nargs="?", default="fault_run")
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    out, rng = Path(args.out), random.Random(args.seed)
    demo = out / "demo"
    if not (demo / "shot.json").is_file():
        subprocess.run(COMMAND + ["demo", "--out", str(demo)], check=True,
                       stdout=subprocess.DEVNULL)
    render = ["render", "--shot", str(demo / "shot.json"), "--plates",
              str(demo / "plate" / "plate.####.exr"), "--align", str(demo / "shot.align.json"),
              "--frames", "1001-1008"]
    train = ["train", "--data", f"astronaut={demo / 'train_data' / 'astronaut'}",
             "--data", f"grace_hopper={demo / 'train_data' / 'grace_hopper'}",
             "--max-resolution", "16", "--width", "0.125", "--latent", "32",
             "--images-per-level", "96", "--batch", "4", "--checkpoint-images", "16",
             "--log-images", "16", "--preview-images", "1000", "--no-tensorboard"]
    if not (demo / "train_data").is_dir():
        from faceswap_vfx.demo import IDENTITIES, portrait_dataset

        for name in IDENTITIES:
            folder = portrait_dataset(out / "data", name, 16)
            shutil.copytree(folder, demo / "train_data" / name)
    ref = out / "ref"
    shutil.rmtree(ref, ignore_errors=True)
    subprocess.run(COMMAND + render + ["--out", str(ref / "render" / "s.####.exr")], check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run(COMMAND + train + ["--out", str(ref / "run")], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    want_frames, want_weights = digest(ref / "render"), weights(ref / "run")
    failures, t0 = [], time.perf_counter()
    for k in range(args.trials):
        sig = rng.choice([signal.SIGKILL, signal.SIGTERM])
        kind = rng.choice(["render", "train"])
        delay = rng.uniform(1.0, 12.0)
        trial = out / f"trial{k}"
        shutil.rmtree(trial, ignore_errors=True)
        if kind == "render":
            argv = render + ["--out", str(trial / "s.####.exr")]
            code = interrupted(argv, delay, sig)
            done = subprocess.run(COMMAND + argv, stdout=subprocess.DEVNULL).returncode
            left = [p.name for p in trial.iterdir() if p.name.startswith(".")]
            same = done == 0 and digest(trial) == want_frames and not left
        else:
            code = interrupted(train + ["--out", str(trial)], delay, sig)
            again = (["train", "--resume", str(trial)] if (trial / "config.json").is_file()
                     else train + ["--out", str(trial)])  # killed before it began
            done = subprocess.run(COMMAND + again, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL).returncode
            left = [p.name for p in trial.rglob(".*")]
            got = weights(trial) if done == 0 else {}
            same = (done == 0 and got.keys() == want_weights.keys() and not left
                    and all(torch.equal(got[n], want_weights[n]) for n in got))
        line = (f"trial {k}: {kind} {signal.Signals(sig).name} after {delay:.1f} s -> exit "
                f"{code}; rerun exit {done}; {'identical' if same else 'DIFFERENT'}"
                f"{'; left ' + ', '.join(left) if left else ''}")
        print(line, flush=True)
        if not same:
            failures.append(line)
        shutil.rmtree(trial, ignore_errors=True)
    print(f"{args.trials - len(failures)} of {args.trials} interrupted runs finished "
          f"bit-identical to the uninterrupted ones ({time.perf_counter() - t0:.0f} s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
