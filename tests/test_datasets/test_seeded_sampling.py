"""The synthetic configs' training batches do not depend on the loader's worker count."""

import copy
import json
import os
import os.path as osp
import random
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

import mmseg_l2g  # noqa: F401
from mmseg_l2g.datasets.seeded_sampling import (
    SeededIndex,
    SeededInfiniteSampler,
    draw_seed,
    seeded_random_state,
)
from mmseg_l2g.datasets.synthetic import make_synthetic

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, "configs/l2g/l2g-sal_plaincnn_1xb8-600it_synthetic-128.py")


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("seeded"))
    make_synthetic(root, 12, 2, seed=5, size=64, num_workers=1, progress=False)
    DefaultScope.get_instance("test_seeded_sampling", scope_name="mmseg")
    return root


def first_batches(data_root, workers, sampler=None, count=4):
    loader_cfg = copy.deepcopy(Config.fromfile(CONFIG).train_dataloader)
    loader_cfg.dataset.data_root = data_root
    loader_cfg.update(batch_size=4, num_workers=workers, persistent_workers=False)
    if sampler is not None:
        loader_cfg.sampler = dict(type=sampler, shuffle=True)
    batches = iter(Runner.build_dataloader(loader_cfg, seed=3))
    return [next(batches) for _ in range(count)]  # 16 samples: more than one pass over 12


def same_batches(first, second):
    for a, b in zip(first, second):
        if not all(torch.equal(x, y) for x, y in zip(a["inputs"], b["inputs"])):
            return False
        for s, t in zip(a["data_samples"], b["data_samples"]):
            if s.metainfo.keys() != t.metainfo.keys() or s.keys() != t.keys():
                return False
            for key in s.metainfo:
                if not np.array_equal(np.asarray(s.metainfo[key]), np.asarray(t.metainfo[key])):
                    return False
            for key in s.keys():
                x, y = s.get(key), t.get(key)
                if isinstance(x, torch.Tensor) and not torch.equal(x, y):
                    return False
    return True


def compare_worker_counts(data_root):
    """Whether 2 and 1 workers give the 0-worker batches, and the draws vary in a run."""
    reference = first_batches(data_root, 0)
    boxes = [s.local_boxes for batch in reference for s in batch["data_samples"]]
    return dict(
        two=same_batches(reference, first_batches(data_root, 2)),
        one=same_batches(reference, first_batches(data_root, 1)),
        varied=not all(torch.equal(boxes[0], b) for b in boxes[1:]),
    )


def test_batches_are_the_same_with_0_1_and_2_workers(data_root):
    """In a fresh interpreter, as a training run starts (no state left by earlier tests)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([REPO, os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run(
        [sys.executable, osp.abspath(__file__), data_root],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    # Both worker counts give the 0-worker batches; two passes over the data give other views.
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == dict(two=True, one=True, varied=True)


def test_the_stock_sampler_depends_on_the_worker_count(data_root):
    """What the seeded sampler fixes (so the test above can fail)."""
    stock = "InfiniteSampler"
    assert not same_batches(first_batches(data_root, 0, stock), first_batches(data_root, 2, stock))


def test_sampler_items_carry_the_seed_of_run_pass_and_index():
    sampler = SeededInfiniteSampler(list(range(5)), shuffle=True, seed=11)
    items = [next(iter_) for iter_ in [iter(sampler)] for _ in range(10)]
    assert all(isinstance(item, SeededIndex) for item in items)
    assert sorted(i.index for i in items[:5]) == list(range(5))  # one permutation per pass
    for position, item in enumerate(items):
        assert item.seed == draw_seed(11, position // 5, item.index)
    assert draw_seed(11, 0, 1) != draw_seed(11, 1, 1) != draw_seed(12, 1, 1)


def test_seeded_random_state_restores_the_outer_streams():
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    expected = random.random(), np.random.rand(), torch.rand(1)
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    with seeded_random_state(99):
        inner = random.random(), np.random.rand(), torch.rand(1)
    with seeded_random_state(99):
        assert (random.random(), np.random.rand()) == inner[:2] and torch.equal(
            torch.rand(1), inner[2]
        )
    assert (random.random(), np.random.rand()) == expected[:2] and torch.equal(
        torch.rand(1), expected[2]
    )


if __name__ == "__main__":  # the worker-count comparison of the first test, in its own process
    DefaultScope.get_instance("seeded_sampling_check", scope_name="mmseg")
    print(json.dumps(compare_worker_counts(sys.argv[1])))
