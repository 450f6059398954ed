"""Deaths in many short renders and blends: the figure must be 0.

    python bench/stress_renders.py OUT --runs 200

Makes the demo's plate, alignment and model once (``faceswap-vfx demo``), then runs
``faceswap-vfx render`` and ``faceswap-vfx blend`` over a few frames ``--runs`` times each,
as a farm would (a new process each time, ``--overwrite``). A death is a non-zero exit, a
signal, or a Python traceback in the output. Prints the count per command and the first
lines of each death's log.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

COMMAND = [sys.executable, "-m", "faceswap_vfx.cli.main"]


def run(args: list[str]) -> tuple[bool, str]:
    done = subprocess.run(COMMAND + args, capture_output=True, text=True, timeout=600)
    log = done.stdout + done.stderr
    return done.returncode != 0 or "Traceback" in log, f"exit {done.returncode}: {log[-600:]}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out", nargs="?", default="stress_run")
    p.add_argument("--runs", type=int, default=200)
    p.add_argument("--frames", default="1001-1004")
    args = p.parse_args()
    out = Path(args.out)
    if not (out / "demo" / "shot.json").is_file():
        subprocess.run(COMMAND + ["demo", "--out", str(out / "demo")], check=True)
    demo = out / "demo"
    render = ["render", "--shot", str(demo / "shot.json"), "--plates",
              str(demo / "plate" / "plate.####.exr"), "--align", str(demo / "shot.align.json"),
              "--frames", args.frames,
              "--out", str(out / "render" / "swap.####.exr"), "--overwrite"]
    swaps = str(demo / "swap" / "swap.####.exr")
    blend = ["blend", "--source", swaps, "--target", str(demo / "plate" / "plate.####.exr"),
             "--mask", swaps, "--mask-channel", "faceswap.mask", "--frames", args.frames, "--out",
             str(out / "blend" / "comp.####.exr"), "--overwrite"]
    deaths: dict[str, list[str]] = {"render": [], "blend": []}
    t0 = time.perf_counter()
    for i in range(args.runs):
        for name, cmd in (("render", render), ("blend", blend)):
            died, log = run(cmd)
            if died:
                deaths[name].append(f"run {i}: {log}")
        if (i + 1) % 10 == 0:
            print(f"{i + 1}/{args.runs} runs: {len(deaths['render'])} render and "
                  f"{len(deaths['blend'])} blend deaths ({time.perf_counter() - t0:.0f} s)",
                  flush=True)
    for name, logs in deaths.items():
        print(f"{name}: {len(logs)} deaths in {args.runs} runs")
        for log in logs[:5]:
            print("  " + log.replace("\n", "\n    "))
    shutil.rmtree(out / "render", ignore_errors=True)
    shutil.rmtree(out / "blend", ignore_errors=True)
    sys.exit(1 if any(deaths.values()) else 0)


if __name__ == "__main__":
    main()
