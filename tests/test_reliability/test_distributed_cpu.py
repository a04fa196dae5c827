"""Two-process L2G training on CPU (torchrun, gloo); its checkpoint loads in one process.

gen_pseudo's 2-process outputs equal its 1-process outputs byte for byte in
tests/test_apis/test_gen_pseudo_tool.py::test_end_to_end_and_two_processes_match_one
(not repeated here).
"""

import os.path as osp
import shutil
import sys

import torch
from mmengine.dataset import pseudo_collate
from mmseg.registry import DATASETS, MODELS
from reliability_helpers import (
    MAX_ITERS,
    TEST_TOOL,
    TRAIN_TOOL,
    last_checkpoint,
    run_tool,
    tail,
    write_tiny_config,
)

from mmseg_l2g.apis import load_config


def test_two_process_training_and_single_process_loading(tiny_config, tiny_data, tmp_path):
    work_dir = str(tmp_path / "work")
    torchrun = shutil.which("torchrun")
    launcher = [torchrun] if torchrun else [sys.executable, "-m", "torch.distributed.run"]
    proc = run_tool(
        ["--standalone", "--nproc_per_node", "2", TRAIN_TOOL, tiny_config]
        + ["--work-dir", work_dir, "--launcher", "pytorch"],
        launcher=launcher,
    )
    assert proc.returncode == 0, tail(proc)
    log = proc.stdout + proc.stderr
    assert "Distributed training: True" in log and "Iter(train) [8/8]" in log
    assert last_checkpoint(work_dir) == osp.join(work_dir, f"iter_{MAX_ITERS}.pth")

    checkpoint = torch.load(last_checkpoint(work_dir), map_location="cpu", weights_only=True)
    assert checkpoint["meta"]["iter"] == MAX_ITERS
    state = checkpoint["state_dict"]
    assert not any(key.startswith("module.") for key in state)  # DDP wrapper not saved

    # One process: the config's model, strict loading, and a forward that uses the weights.
    cfg = load_config(tiny_config)
    model = MODELS.build(cfg.model)
    fresh = {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(state, strict=True)
    assert any(not torch.equal(fresh[k], v) for k, v in model.state_dict().items())
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    model.eval()
    with torch.no_grad():
        data = model.data_preprocessor(pseudo_collate([dataset[0]]), training=False)
        logits = model(data["inputs"], mode="tensor")
    assert logits.shape == (1, 5, 16, 16)  # C+1 maps at stride 8 of the 128 px view
    assert bool(torch.isfinite(logits).all())

    # tools/test.py under torchrun on CPU scores the checkpoint (each rank a shard).
    eval_config = write_tiny_config(str(tmp_path / "eval.py"), tiny_data, evaluation=True)
    proc = run_tool(
        ["--standalone", "--nproc_per_node", "2", TEST_TOOL, eval_config, last_checkpoint(work_dir)]
        + ["--work-dir", str(tmp_path / "test"), "--launcher", "pytorch"],
        launcher=launcher,
    )
    assert proc.returncode == 0, tail(proc)
    assert "mIoU:" in proc.stdout + proc.stderr
