"""Fixtures of the stage-2 tests (helpers in stage2_helpers.py)."""

import pytest
from stage2_helpers import TinyCAMModel, TinyDataset, make_tiny_dataset


@pytest.fixture
def tiny_model() -> TinyCAMModel:
    return TinyCAMModel().eval()


@pytest.fixture
def tiny_dataset(tmp_path) -> TinyDataset:
    root = tmp_path / "data"
    root.mkdir()
    return make_tiny_dataset(str(root))
