"""Record the operator list of the torch this Python runs, for the Nuke export check.

Run with a Python that has the torch release a Nuke generation embeds (installed into its
own venv from PyPI), from the root of this checkout::

    python3 -m venv /tmp/torch211 && /tmp/torch211/bin/pip install torch==2.1.1
    /tmp/torch211/bin/python tools/libtorch_ops.py

It writes ``faceswap_vfx/model/libtorch_ops/<version>.txt``: one schema name
(``aten::name.overload``) per line, sorted, from ``torch._C._jit_get_all_schemas()``,
the table the TorchScript compiler resolves calls against when a file is loaded. It needs
torch only (no faceswap_vfx import), so it runs under any old release.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch


def main() -> int:
    version = torch.__version__.split("+")[0]
    names = sorted({str(s).split("(", 1)[0].strip() for s in torch._C._jit_get_all_schemas()})
    out = Path(__file__).resolve().parents[1] / "faceswap_vfx" / "model" / "libtorch_ops"
    out.mkdir(exist_ok=True)
    path = out / f"{version}.txt"
    path.write_text(f"# operators of torch {torch.__version__} "
                    f"(torch._C._jit_get_all_schemas), recorded by tools/libtorch_ops.py\n"
                    + "\n".join(names) + "\n")
    print(f"{path}: {len(names)} operators")
    return 0


if __name__ == "__main__":
    sys.exit(main())
