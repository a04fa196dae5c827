"""--device is checked in one line before anything runs (check_device)."""

import pytest
import torch

from mmseg_l2g.engine.distributed import check_device, init_process_group


def test_cpu_is_accepted_and_names_that_are_not_devices_are_refused():
    check_device("cpu")
    assert init_process_group("none", "cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match=r"--device 'gpu': not a device"):
        check_device("gpu")
    with pytest.raises(ValueError, match="--device meta: only 'cpu' and 'cuda"):
        check_device("meta")


def test_cuda_is_refused_where_there_is_none_or_past_the_last_gpu():
    if torch.cuda.is_available():  # a GPU machine: an index past the last one
        count = torch.cuda.device_count()
        with pytest.raises(ValueError, match=f"this machine has {count} CUDA GPU"):
            check_device(f"cuda:{count}")
        check_device("cuda")
    else:
        with pytest.raises(ValueError, match="--device cuda: no CUDA GPU here"):
            check_device("cuda")
        with pytest.raises(ValueError, match="--device cuda:1: no CUDA GPU here"):
            init_process_group("none", "cuda:1")
