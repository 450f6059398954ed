"""Balanced, seeded, shardable sampling: which crops of each identity a step trains on.

Randomness here is counter-based: what step ``s`` draws depends on ``(seed, s)`` only, not on
a generator's history, so a resumed run (or another process of a multi-GPU run) draws exactly
what an uninterrupted one would, with no sampler state to save.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

STREAM_SAMPLER = 1
STREAM_AUGMENT = 2


def mix_seed(*values: int) -> int:
    """A seed in ``[0, 2**63)`` from non-negative integers (numpy ``SeedSequence``)."""
    state = np.random.SeedSequence([int(v) for v in values]).generate_state(1, np.uint64)[0]
    return int(state >> np.uint64(1))


def step_generator(seed: int, step: int, rank: int = 0, stream: int = STREAM_AUGMENT
                   ) -> torch.Generator:
    """A CPU ``torch.Generator`` for one step of one process, seeded from all four."""
    return torch.Generator().manual_seed(mix_seed(seed, stream, step, rank))


class BalancedSampler:
    """The same number of crops of every identity in every step, whatever the dataset sizes.

    ``sizes``: crops per identity. Each identity's crops are visited in a fresh random order
    every epoch (of that identity's own length), so small datasets repeat more often.
    For ``world_size`` processes the step's draw per identity is
    ``batch_per_identity * world_size`` positions of that order; process ``rank`` takes the
    ``rank``-th block of ``batch_per_identity``.
    """

    def __init__(self, sizes: Sequence[int], batch_per_identity: int, seed: int,
                 rank: int = 0, world_size: int = 1):
        if not sizes or any(int(n) < 1 for n in sizes):
            raise ValueError(f"every identity needs at least one crop, got sizes {list(sizes)}")
        if batch_per_identity < 1 or not 0 <= rank < world_size:
            raise ValueError(f"bad batch {batch_per_identity} or rank {rank}/{world_size}")
        self.sizes = tuple(int(n) for n in sizes)
        self.batch, self.seed, self.rank, self.world_size = (batch_per_identity, seed, rank,
                                                             world_size)
        self._perms: dict[tuple[int, int], torch.Tensor] = {}

    def _perm(self, identity: int, epoch: int) -> torch.Tensor:
        key = (identity, epoch)
        if key not in self._perms:
            if len(self._perms) > 4 * len(self.sizes):
                self._perms.clear()
            g = torch.Generator().manual_seed(mix_seed(self.seed, STREAM_SAMPLER, identity,
                                                       epoch))
            self._perms[key] = torch.randperm(self.sizes[identity], generator=g)
        return self._perms[key]

    def indices(self, step: int) -> list[torch.Tensor]:
        """Per identity, int64 ``(batch_per_identity,)`` crop indices for ``step`` (>= 0)."""
        if step < 0:
            raise ValueError(f"step {step} is negative")
        start = (step * self.world_size + self.rank) * self.batch
        out = []
        for i, n in enumerate(self.sizes):
            pos = range(start, start + self.batch)
            out.append(torch.stack([self._perm(i, p // n)[p % n] for p in pos]))
        return out
