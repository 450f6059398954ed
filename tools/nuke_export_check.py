"""Load and run an export in the libtorch releases Nuke embeds, and compare with this torch.

Each old torch lives in its own venv (PyPI wheels; 1.12.1 has none for Python 3.11, so 1.13.1
stands in for Nuke 14's)::

    python3 -m venv /tmp/torch211 && /tmp/torch211/bin/pip install torch==2.1.1 'numpy<2'
    python3 -m venv /tmp/torch113 && /tmp/torch113/bin/pip install torch==1.13.1 'numpy<2'
    .venv/bin/python tools/nuke_export_check.py --python 2.1.1=/tmp/torch211/bin/python \\
        --python 1.13.1=/tmp/torch113/bin/python

It exports the demo model (or ``--run``'s newest checkpoint) for each Nuke target with
``faceswap-vfx export``, writes test inputs (the network's own size; a larger RGBA plate crop
with HDR values and a NaN), runs the eager model in this torch for the expected outputs, then
in each old Python loads the ``.pt`` with ``torch.jit.load`` and runs the inputs (float32,
on the CPU; half precision too where that torch has CPU half kernels). Prints one line per
torch and input with the largest difference; exit 1 when a load fails or a difference is
above ``--atol``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import torch

from faceswap_vfx.cli.main import main as cli
from faceswap_vfx.demo import SHIPPED_MODEL
from faceswap_vfx.train.checkpoint import latest_checkpoint, load_checkpoint, model_from_checkpoint

RUNNER = textwrap.dedent("""
    import json, sys
    import numpy as np, torch
    pt, folder, names = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
    module = torch.jit.load(pt).eval()
    report = {"torch": torch.__version__, "outputs": {}, "half": ""}
    with torch.no_grad():
        for name in names:
            x = torch.from_numpy(np.load(f"{folder}/{name}.npy"))
            np.save(f"{folder}/{name}.{torch.__version__}.npy", module(x).numpy())
            report["outputs"][name] = list(module(x).shape)
        try:
            module.half()
            x = torch.from_numpy(np.load(f"{folder}/{names[0]}.npy")).half()
            y = module(x)
            np.save(f"{folder}/{names[0]}.{torch.__version__}.half.npy", y.float().numpy())
            report["half"] = str(y.dtype)
        except RuntimeError as exc:
            report["half"] = "not on this CPU: " + str(exc).splitlines()[0]
    print(json.dumps(report))
""")


def inputs(resolution: int) -> dict[str, np.ndarray]:
    """The test inputs: an RGB crop at the network's size, an RGBA plate crop of another
    size with HDR and negative values and a NaN."""
    g = torch.Generator().manual_seed(0)
    rgb = torch.rand(1, 3, resolution, resolution, generator=g)
    plate = torch.rand(1, 4, resolution + 37, resolution + 11, generator=g) * 3 - 1
    plate[0, 0, 5, 5] = float("nan")
    return {"crop": rgb.numpy(), "plate": plate.numpy()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", action="append", default=[], metavar="VERSION=PYTHON",
                        help="an old torch's Python, e.g. 2.1.1=/tmp/torch211/bin/python")
    parser.add_argument("--run", help="a training run or checkpoint (default: the demo model)")
    parser.add_argument("--identity", help="identity to export (default: the model's first)")
    parser.add_argument("--atol", type=float, default=1e-4)
    args = parser.parse_args()
    source = Path(args.run) if args.run else SHIPPED_MODEL
    ckpt = load_checkpoint(latest_checkpoint(source) if source.is_dir() else source)
    model = model_from_checkpoint(ckpt).eval()
    identity = args.identity or ckpt.identities[-1]
    bad = 0
    with tempfile.TemporaryDirectory(prefix="nuke_export_") as tmp:
        folder = Path(tmp)
        for name, x in inputs(4 << model.level).items():
            np.save(folder / f"{name}.npy", x)
        for target in ("14", "15.1"):
            pt = folder / target / f"{identity}.pt"
            pt.parent.mkdir()
            if cli(["export", str(source), "--identity", identity, "--out", str(pt),
                    "--nuke", target]) != 0:
                print(f"export --nuke {target} failed")
                return 1
            mine = torch.jit.load(str(pt)).eval()
            expected = {}
            with torch.no_grad():
                for name in ("crop", "plate"):
                    x = torch.from_numpy(np.load(folder / f"{name}.npy"))
                    expected[name] = mine(x).numpy()
                    eager = model(x, identity).numpy() if name == "crop" else None
                    if eager is not None:
                        diff = np.abs(expected[name] - eager).max()
                        print(f"nuke {target:>4}  torch {torch.__version__:<14} {name:<5} "
                              f"export vs eager max |diff| {diff:.2e}")
                half = mine.half()(torch.from_numpy(np.load(folder / "crop.npy")).half())
                print(f"nuke {target:>4}  torch {torch.__version__:<14} crop  half "
                      f"({half.dtype}) max |diff| "
                      f"{np.abs(half.float().numpy() - expected['crop']).max():.2e}")
            for item in args.python:
                version, _, python = item.partition("=")
                done = subprocess.run([python, "-c", RUNNER, str(pt), str(folder), "crop,plate"],
                                      capture_output=True, text=True)
                if done.returncode != 0:
                    print(f"nuke {target:>4}  torch {version:<14} LOAD FAILED: "
                          f"{done.stderr.strip().splitlines()[-1]}")
                    bad += 1
                    continue
                report = json.loads(done.stdout.strip().splitlines()[-1])
                for name in ("crop", "plate"):
                    got = np.load(folder / f"{name}.{report['torch']}.npy")
                    diff = float(np.abs(got - expected[name]).max())
                    bad += diff > args.atol or got.shape != expected[name].shape
                    print(f"nuke {target:>4}  torch {report['torch']:<14} {name:<5} "
                          f"{'x'.join(map(str, got.shape))} max |diff| {diff:.2e}")
                print(f"nuke {target:>4}  torch {report['torch']:<14} half: {report['half']}")
    print("OK" if not bad else f"{bad} failure(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
