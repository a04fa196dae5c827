"""The GPU check script (benchmarks/gpu_resnet38_check.py) runs end to end on CPU at --tiny
size, and its full-size settings are the ResNet-38 config's (checked without running them)."""

from __future__ import annotations

import json
import math
import os
import os.path as osp
import subprocess
import sys
from types import ModuleType

import pytest
import torch

from benchmarks import gpu_resnet38_check

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(REPO_ROOT, "benchmarks", "gpu_resnet38_check.py")
TABLE_HEADER = "| mode | precision | train it/s | train img/s |"


@pytest.fixture(scope="module")
def check() -> ModuleType:
    return gpu_resnet38_check


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> tuple:
    """One ``--tiny --device cpu`` run in a subprocess: (stdout, JSON document)."""
    folder = tmp_path_factory.mktemp("gpu_check")
    out = folder / "results" / "check.json"  # a folder that does not exist yet
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    proc = subprocess.run(
        [sys.executable, SCRIPT, "--tiny", "--device", "cpu", "--out", str(out)],
        cwd=str(folder),  # not the repository root: the script finds the plugin itself
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(out, encoding="utf-8") as f:
        return proc.stdout, json.load(f)


def _positive_finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def test_tiny_run_reports_speed_of_every_mode(tiny_run) -> None:
    _, doc = tiny_run
    assert doc["errors"] == []
    assert set(doc["modes"]) == {"fp32", "amp"}
    for name, entry in doc["modes"].items():
        train, stage2 = entry["train"], entry["stage2"]
        assert _positive_finite(train["iters_per_s"]), name
        assert _positive_finite(stage2["images_per_s"]), name
        # The rates are what was counted over the time measured.
        assert train["iterations"] == 2 and train["warmup"] == 1 and len(train["step_ms"]) == 2
        assert math.isclose(train["iters_per_s"] * train["seconds"], 2, rel_tol=1e-2)
        assert math.isclose(train["images_per_s"], 3 * train["iters_per_s"], rel_tol=1e-9)
        assert train["compute_iters_per_s"] >= train["iters_per_s"]
        assert all(math.isfinite(loss) and loss > 0 for loss in train["losses"])
        assert stage2["images"] == stage2["scored_images"] == 2
        assert math.isclose(stage2["images_per_s"] * stage2["seconds"], 2, rel_tol=1e-2)
        assert stage2["scales"] == [1.0] and stage2["flip"] is True
        # No CUDA memory counters on CPU.
        assert train["peak_allocated_gib"] is None and stage2["peak_allocated_gib"] is None


def test_tiny_run_amp_is_bfloat16_autocast_on_cpu(tiny_run) -> None:
    _, doc = tiny_run
    fp32, amp = doc["modes"]["fp32"], doc["modes"]["amp"]
    assert fp32["autocast_dtype"] is None and amp["autocast_dtype"] == "bfloat16"
    assert amp["stage2"]["fp16"] is False  # float16 stage 2 is CUDA-only
    assert amp["train"]["final_loss_scale"] is None  # no AmpOptimWrapper on CPU
    # Same seed, same weights, same first batch: the first losses differ only by precision,
    # and they do differ (the autocast is active).
    first_fp32, first_amp = fp32["train"]["first_loss"], amp["train"]["first_loss"]
    assert first_fp32 != first_amp
    assert math.isclose(first_fp32, first_amp, rel_tol=5e-2)
    assert fp32["parameters"] == amp["parameters"]


def test_tiny_run_uses_the_shrunk_resnet38_config(tiny_run) -> None:
    _, doc = tiny_run
    assert doc["config"] == "configs/l2g/l2g_resnet38_1xb3-10e_voc12aug-448.py"
    settings = doc["settings"]
    assert settings["global_size"] == [64, 64] and settings["crop_size"] == 48
    assert settings["num_views"] == 6 and settings["batch_size"] == 3
    assert doc["dataset"]["size"] == 64 and doc["dataset"]["num_train"] == 6
    params = doc["modes"]["fp32"]["parameters"]
    assert 0 < params["trainable"] < params["total"] < 2_000_000  # 1/16 width, stage 1 frozen
    assert doc["environment"]["device"] == "cpu"
    assert doc["environment"]["torch"] == torch.__version__


def test_tiny_run_prints_progress_and_a_markdown_table(tiny_run) -> None:
    stdout, doc = tiny_run
    lines = stdout.splitlines()
    header = lines.index(next(line for line in lines if line.startswith(TABLE_HEADER)))
    assert set(lines[header + 1].strip("|").split("|")) == {"---"}
    rows = [line.split("|")[1].strip() for line in lines[header + 2 : header + 4]]
    assert rows == ["fp32", "amp"]
    cells = [cell.strip() for cell in lines[header + 2].split("|")[1:-1]]
    assert float(cells[2]) == pytest.approx(doc["modes"]["fp32"]["train"]["iters_per_s"], 1e-2)
    assert "fp32 train timed 2/2" in stdout and "amp stage 2: 2 images" in stdout


def test_full_size_defaults(check) -> None:
    args = check.parse_args(["--device", "cpu"])
    assert (args.size, args.num_train, args.iters, args.warmup) == (500, 60, 20, 3)
    assert args.stage2_images == 50 and args.scales == [0.5, 1.0, 1.5, 2.0]
    assert args.num_workers == 4 and args.modes == ["fp32", "amp"]
    tiny = check.parse_args(["--tiny", "--device", "cpu", "--iters", "5"])
    assert (tiny.size, tiny.iters, tiny.warmup, tiny.scales) == (64, 5, 1, [1.0])
    with pytest.raises(SystemExit):
        check.parse_args(["--device", "cpu", "--scales", "0"])


@pytest.mark.parametrize("saliency", [False, True])
def test_full_size_config_is_the_papers_setting(check, saliency, tmp_path) -> None:
    args = check.parse_args(["--device", "cpu"] + (["--saliency"] if saliency else []))
    cfg = check.load_check_config(args, str(tmp_path))
    assert check.pipeline_sizes(cfg) == dict(global_size=[448, 448], crop_size=320, num_views=6)
    assert cfg.train_dataloader.batch_size == 3
    assert cfg.train_dataloader.sampler.type == "InfiniteSampler"
    assert cfg.train_dataloader.num_workers == 4 and cfg.train_dataloader.persistent_workers
    assert cfg.train_dataloader.dataset.data_root == str(tmp_path)
    assert "init_cfg" not in cfg.model.backbone  # random init: no weights on the GPU machine
    assert cfg.model.backbone.get("base_channels", 64) == 64 and cfg.model.head.in_channels == 4096
    steps = [step["type"] for step in cfg.train_dataloader.dataset.pipeline]
    assert ("LoadSaliencyMap" in steps) == saliency


def test_cuda_amp_mode_uses_amp_optim_wrapper(check, tmp_path) -> None:
    cfg = check.load_check_config(check.parse_args(["--device", "cpu"]), str(tmp_path))
    cuda = torch.device("cuda")
    amp = check.Mode("amp", cuda).optim_wrapper_cfg(cfg)
    assert amp["type"] == "AmpOptimWrapper"
    assert amp["dtype"] == "float16" and amp["loss_scale"] == "dynamic"
    assert amp["paramwise_cfg"] == cfg.optim_wrapper.paramwise_cfg.to_dict()
    assert check.Mode("amp", cuda).autocast_dtype == "float16"
    assert check.Mode("fp32", cuda).optim_wrapper_cfg(cfg)["type"] == "OptimWrapper"
    assert check.Mode("amp", torch.device("cpu")).optim_wrapper_cfg(cfg)["type"] == "OptimWrapper"


def test_a_failing_phase_is_recorded_and_the_rest_still_runs(check, tmp_path, monkeypatch) -> None:
    def out_of_memory(*args, **kwargs):
        raise RuntimeError("CUDA out of memory (simulated)")

    monkeypatch.setattr(check, "time_training", out_of_memory)
    out = tmp_path / "check.json"
    argv = ["--tiny", "--device", "cpu", "--modes", "fp32", "--out", str(out)]
    assert check.main(argv) == 1
    doc = json.loads(out.read_text())
    entry = doc["modes"]["fp32"]
    assert "CUDA out of memory (simulated)" in entry["train"]["error"]
    assert _positive_finite(entry["stage2"]["images_per_s"])  # stage 2 still ran
    assert doc["errors"] == ["fp32 train: RuntimeError: CUDA out of memory (simulated)"]
