"""A data order that does not depend on the number of loader workers.

MMEngine seeds each loader worker's random generators from the run seed and
the worker's number, so the augmentation a sample gets (flip, crop, local
views) depends on which worker loads it: the same seed gives other batches with
1 or 2 workers. Here the sampler hands each draw of a sample its own seed,
made from (run seed, pass over the data, sample index), and the dataset seeds
``random``, ``numpy.random`` and ``torch`` from it while its pipeline runs
(and restores them after), so a batch is the same with any worker count.
"""

import random
from contextlib import contextmanager
from typing import Any, Iterator, NamedTuple

import numpy as np
import torch
from mmengine.dataset import InfiniteSampler
from mmseg.registry import DATA_SAMPLERS


class SeededIndex(NamedTuple):
    """A sample index with the seed of its transforms' random draws."""

    index: int
    seed: int


def draw_seed(run_seed: int, pass_number: int, index: int) -> int:
    """The 32-bit seed of one draw of one sample (a hash of the three numbers)."""
    sequence = np.random.SeedSequence([run_seed & 0xFFFFFFFF, pass_number, index])
    return int(sequence.generate_state(1, dtype=np.uint32)[0])


@contextmanager
def seeded_random_state(seed: int) -> Iterator[None]:
    """Seeds ``random``, ``numpy.random`` and ``torch`` inside the block, restores them after."""
    saved = random.getstate(), np.random.get_state(), torch.get_rng_state()
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    try:
        yield
    finally:
        random.setstate(saved[0])
        np.random.set_state(saved[1])
        torch.set_rng_state(saved[2])


@DATA_SAMPLERS.register_module()
class SeededInfiniteSampler(InfiniteSampler):
    """``InfiniteSampler`` that yields :class:`SeededIndex` items.

    The order of indices is ``InfiniteSampler``'s (a permutation per pass,
    from ``seed``); each item also carries :func:`draw_seed` of (seed, pass,
    index). A dataset with :class:`SeededItemsMixin` runs the pipeline of such
    an item under that seed. Arguments as ``InfiniteSampler``.
    """

    def _infinite_indices(self) -> Iterator[SeededIndex]:  # type: ignore[override]
        """Infinitely yields the indices, each with the seed of its draw."""
        for position, index in enumerate(super()._infinite_indices()):
            yield SeededIndex(index, draw_seed(self.seed, position // max(self.size, 1), index))


class SeededItemsMixin:
    """Lets a dataset take :class:`SeededIndex` items (plain integers work as before)."""

    def __getitem__(self, idx: Any) -> Any:
        if isinstance(idx, tuple) and len(idx) == 2:
            index, seed = idx
            with seeded_random_state(int(seed)):
                return super().__getitem__(int(index))  # type: ignore[misc]
        return super().__getitem__(idx)  # type: ignore[misc]
