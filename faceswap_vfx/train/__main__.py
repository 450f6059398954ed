"""``python -m faceswap_vfx.train ARGS``: the ``faceswap-vfx train`` command, also as the
module torchrun starts once per GPU::

    torchrun --standalone --nproc_per_node=4 -m faceswap_vfx.train \\
        --data alice=datasets/alice --data bob=datasets/bob --out runs/ab --batch 8
    torchrun --nnodes=2 --nproc_per_node=8 --rdzv-backend=c10d \\
        --rdzv-endpoint=host0:29400 --rdzv-id=ab -m faceswap_vfx.train --resume runs/ab

The arguments are those of ``faceswap-vfx train`` (parsed by the same parser); ``--batch`` is
per process, so N processes train on N times the batch. Without torchrun it is a plain
single-process ``faceswap-vfx train``. The process group is joined by
:func:`~faceswap_vfx.train.loop.train` (NCCL for a CUDA run, gloo on CPU) and left here.
Processes other than 0 log warnings only.
"""

from __future__ import annotations

import logging
import os
import sys

from faceswap_vfx.cli.main import main as cli_main
from faceswap_vfx.train.distributed import shutdown


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if int(os.environ.get("RANK", "0")) != 0:
        logging.basicConfig(level=logging.WARNING,
                            format="%(levelname)s %(name)s [rank %(process)d]: %(message)s")
    try:
        return cli_main(["train", *argv])
    finally:
        shutdown()


if __name__ == "__main__":
    sys.exit(main())
