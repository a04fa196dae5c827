"""The demo's work dir remembers what made it and refuses another seed."""

import json

import pytest

from mmseg_l2g.experiments.demo import check_work_dir


def test_work_dir_of_another_seed_is_refused(tmp_path):
    identity = dict(seed=0, budget="tiny", batch_size=None, data_root="/d")
    check_work_dir(str(tmp_path), identity)
    check_work_dir(str(tmp_path), identity)  # the same run again: reused
    assert json.loads((tmp_path / "demo.json").read_text()) == identity
    with pytest.raises(ValueError, match="seed: 0 there, 1 now"):
        check_work_dir(str(tmp_path), dict(identity, seed=1))


def test_overwrite_takes_a_work_dir_of_another_seed(tmp_path):
    identity = dict(seed=0, budget="tiny", batch_size=None, data_root="/d")
    check_work_dir(str(tmp_path), identity)
    check_work_dir(str(tmp_path), dict(identity, seed=1), overwrite=True)
    assert json.loads((tmp_path / "demo.json").read_text())["seed"] == 1
