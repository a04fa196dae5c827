"""Smoke tests of the benchmark scripts at a tiny size, and of their shared helpers.

No timing thresholds: the checks are the JSON's completeness (every ratio a
finite positive number), the definitions (each ratio equals its parts as
recorded), hand-computed sizes, and the printed / written tables.
"""

import json
import math
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from benchmarks import bench_dataloader, bench_stage2, bench_train_step
from benchmarks.common import (
    Ratio,
    Timing,
    batch_nbytes,
    measure_step_peak_memory,
    text_table,
    time_interleaved,
    write_json_atomic,
)
from mmseg_l2g.testing import random_l2g_batch

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = ["--backbone", "plaincnn", "--global-size", "48", "--crop-size", "32", "--num-views", "2"]
MIB = 1024**2


def _load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _check_ratios(doc, keys):
    assert set(doc["ratios"]) == set(keys)
    for key, value in doc["ratios"].items():
        assert isinstance(value, float) and math.isfinite(value) and value > 0, (key, value)


def _median(doc, name):
    return doc["measurements"]["times_ms"][name]["median"]


def test_train_step_benchmark(tmp_path, capsys):
    out = tmp_path / "train.json"
    argv = TINY + ["--batch-size", "2", "--warmup", "1", "--repeats", "2", "--out", str(out)]
    bench_train_step.main(argv)
    doc = _load(out)
    _check_ratios(doc, bench_train_step.RATIO_KEYS)
    m = doc["measurements"]
    parts = _median(doc, "global_fwd_bwd") + _median(doc, "local_fwd_bwd")
    parts += _median(doc, "optim_step")
    assert doc["ratios"]["step_over_parts"] == pytest.approx(_median(doc, "l2g_step") / parts)
    minima = {k: v["min"] for k, v in m["times_ms"].items()}
    parts_min = minima["global_fwd_bwd"] + minima["local_fwd_bwd"] + minima["optim_step"]
    assert doc["ratios_from_minima"]["step_over_parts"] == pytest.approx(
        minima["l2g_step"] / parts_min
    )
    assert set(doc["ratios_from_minima"]) == set(bench_train_step.RATIO_KEYS[:3])
    assert doc["ratios"]["l2g_over_cam"] == pytest.approx(
        _median(doc, "l2g_step") / _median(doc, "cam_step")
    )
    assert len(m["times_ms"]["l2g_step"]["runs"]) == 2
    assert m["theory_l2g_over_cam"] == pytest.approx(1 + 2 * (32 / 48) ** 2)
    assert m["local_inputs_shape"] == [4, 3, 32, 32]  # B*N views of S x S
    assert m["global_logits_shape"] == [5, 6, 6]  # C+1 channels, 48 / 8
    # uint8 images + float32 labels (C = 4) and boxes: 2*3*48*48 + 2*4*4 + 4*4*4
    assert m["batch_bytes_sliced"] == 13824 + 32 + 64
    assert m["batch_bytes_materialised"] == 13824 + 32 + 64 + 4 * 3 * 32 * 32
    peaks = m["peak_step_memory_mib"]
    assert doc["ratios"]["memory_l2g_over_cam"] == pytest.approx(peaks["l2g_sliced"] / peaks["cam"])
    assert doc["machine"]["torch"] == torch.__version__
    printed = capsys.readouterr().out
    assert "L2G train_step / (global fwd+bwd + local fwd+bwd + optimiser step)" in printed
    assert "theory 1 + N(S/G)^2 = 1.89" in printed


def test_dataloader_benchmark(tmp_path, capsys):
    out = tmp_path / "loader.json"
    argv = TINY + ["--batch-size", "2", "--warmup", "1", "--repeats", "1", "--batches", "3"]
    argv += ["--num-images", "4", "--workers", "1", "--out", str(out)]
    bench_dataloader.main(argv)
    doc = _load(out)
    _check_ratios(doc, bench_dataloader.RATIO_KEYS)
    m = doc["measurements"]
    assert m["num_images"] == 4 and m["image_size"] == 48
    assert len(m["loader_batch_ms"]["runs"]) == 3
    loader_sps = 2 * 3 / (sum(m["loader_batch_ms"]["runs"]) / 1e3)
    assert m["loader_samples_per_s"] == pytest.approx(loader_sps, rel=1e-3)
    assert m["training_samples_per_s"] == pytest.approx(2 / (m["train_step_ms"]["median"] / 1e3))
    assert doc["ratios"]["loader_over_training"] == pytest.approx(
        m["loader_samples_per_s"] / m["training_samples_per_s"]
    )
    assert "dataloader samples/s (1 worker) / training samples/s" in capsys.readouterr().out


def test_stage2_benchmark(tmp_path, capsys):
    out = tmp_path / "stage2.json"
    argv = TINY + ["--batch-size", "2", "--num-images", "3", "--scales", "0.5", "1.0"]
    argv += ["--warmup", "0", "--repeats", "1", "--writer-threads", "2", "--out", str(out)]
    bench_stage2.main(argv)
    doc = _load(out)
    _check_ratios(doc, bench_stage2.RATIO_KEYS)
    m = doc["measurements"]
    assert m["num_images"] == 3 and m["maps_per_image"] == 4  # 2 scales x (image, flip)
    assert m["writer_threads"] == 2 and m["prefetch_batches"] == 0  # given; the CPU default
    assert m["ms_per_image"]["generation"] == pytest.approx(_median(doc, "generation") / 3)
    assert doc["ratios"]["batched_speedup"] == pytest.approx(
        _median(doc, "generation_single") / _median(doc, "generation")
    )
    assert doc["ratios"]["generation_over_forward"] == pytest.approx(
        _median(doc, "generation") / _median(doc, "forward")
    )
    assert "pseudo-mask generation / network forward (batch 2)" in capsys.readouterr().out


def test_run_all_writes_json_and_markdown(tmp_path):
    script = osp.join(REPO_ROOT, "benchmarks", "run_all.py")
    cmd = [sys.executable, script] + TINY + ["--results-dir", str(tmp_path), "--name", "tiny"]
    cmd += ["--train-step-args", "--batch-size 2 --warmup 0 --repeats 1 --no-memory"]
    cmd += ["--dataloader-args", "--batch-size 2 --warmup 1 --repeats 1 --batches 1 "]
    cmd[-1] += "--num-images 2 --workers 0"
    cmd += ["--stage2-args", "--num-images 2 --scales 1.0 --warmup 0 --repeats 1"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = _load(tmp_path / "tiny.json")
    assert set(doc["results"]) == {"train_step", "dataloader", "stage2"}
    # --no-memory drops the two memory ratios
    _check_ratios(doc["results"]["train_step"], bench_train_step.RATIO_KEYS[:3])
    _check_ratios(doc["results"]["dataloader"], bench_dataloader.RATIO_KEYS)
    _check_ratios(doc["results"]["stage2"], bench_stage2.RATIO_KEYS)
    assert doc["machine"]["cpu_cores"] == os.cpu_count()
    assert doc["machine"]["torch_threads"] == 1
    markdown = (tmp_path / "latest.md").read_text(encoding="utf-8")
    rows = [line for line in markdown.splitlines() if line.startswith("| ")]
    ratio_rows = [r for r in rows if r.count("|") == 8 and not r.startswith("| benchmark")]
    assert len(ratio_rows) == 3 + 1 + len(bench_stage2.RATIO_KEYS)
    assert "| dataloader | dataloader samples/s (0 workers) / training samples/s |" in markdown
    assert "Command: `python benchmarks/run_all.py --backbone plaincnn" in markdown
    assert "step_over_parts" not in proc.stdout  # the table shows labels, not keys
    assert "L2G train_step / plain-CAM train_step" in proc.stdout
    assert [p for p in os.listdir(tmp_path) if p.startswith(".")] == []  # no temp files left


def test_time_interleaved_order_and_counts():
    calls = []
    fns = dict(a=lambda: calls.append("a"), b=lambda: calls.append("b"))
    setups = dict(b=lambda: calls.append("setup_b"))
    timings = time_interleaved(fns, torch.device("cpu"), warmup=1, repeats=2, setups=setups)
    assert calls == ["a", "setup_b", "b"] * 3
    assert [len(t.samples) for t in timings.values()] == [2, 2]


def test_timing_median_and_ratio_goal():
    timing = Timing([0.3, 0.1, 0.2, 0.5])
    assert timing.median == pytest.approx(0.25) and timing.minimum == pytest.approx(0.1)
    assert timing.summary_ms()["median"] == pytest.approx(250.0)
    assert Ratio("x", "x", 1.10, ("<=", 1.10)).met is True
    assert Ratio("x", "x", 1.11, ("<=", 1.10)).met is False
    assert Ratio("x", "x", 2.9, (">=", 3.0)).met is False
    assert Ratio("x", "x", 2.9).met is None


def test_cpu_peak_memory_sees_a_known_allocation():
    size = 32 * MIB

    def make_step():
        return lambda: torch.ones(size // 4)  # 32 MiB, every page written

    peak, method = measure_step_peak_memory(make_step, torch.device("cpu"))
    # resident memory is page-granular and other small buffers come and go (-1 MiB, +8 MiB slack)
    assert size - MIB <= peak < size + 8 * MIB, (peak / MIB, method)


def test_batch_nbytes_counts_every_tensor():
    data = random_l2g_batch(3, 40, 24, 4, num_classes=4, materialize=True)
    # 3 images 40x40x3 uint8, labels 3x4 float32, boxes 12x4 float32, views 12x3x24x24 uint8
    assert batch_nbytes(data) == 3 * 40 * 40 * 3 + 3 * 4 * 4 + 12 * 4 * 4 + 12 * 3 * 24 * 24
    boxes = torch.cat([s.local_boxes for s in data["data_samples"]])
    assert bool(((boxes[:, 2:] - boxes[:, :2]) == 24).all())


def test_write_json_atomic_nan_and_table(tmp_path):
    path = tmp_path / "sub" / "r.json"
    write_json_atomic(str(path), dict(a=float("nan"), b=[1.5, float("inf")]))
    assert _load(path) == dict(a=None, b=[1.5, None])
    assert os.listdir(tmp_path / "sub") == ["r.json"]
    table = text_table([["x", "1"], ["long name", "22"]], ["name", "v"]).splitlines()
    assert table[0] == "name       v "
    assert table[2] == "x          1 "


def test_release_loop_writes_the_masks_stage_two_writes(tmp_path):
    # The side-by-side baseline differs from stage 2 in its loop only: same model,
    # images and readout give the same masks, plus one grey PNG per class map.
    import cv2
    import numpy as np
    from mmseg.registry import DATASETS
    from PIL import Image

    from benchmarks.common import build_model, synthetic_data_root
    from mmseg_l2g.models.classifiers.cam_readout import CAMReadoutConfig, present_classes
    from mmseg_l2g.stage2 import PseudoMaskSettings, generate_pseudo_masks

    with synthetic_data_root(None, 3, 64, 0) as root:
        dataset = DATASETS.build(
            dict(type="SyntheticWSSSDataset", data_root=root, pipeline=[],
                 ann_file="ImageSets/Segmentation/train.txt")
        )  # fmt: skip
        model = build_model("synthetic", True, torch.device("cpu")).eval()
        model.test_cfg = CAMReadoutConfig(scales=(0.5, 1.0), forward_pixels=64 * 64)
        infos = [dataset.get_data_info(i) for i in range(3)]
        bench_stage2.release_loop(model, infos, str(tmp_path))()
        settings = PseudoMaskSettings(sweep=(0.25,), num_vis=0, batch_size=3, overwrite=True)
        out = tmp_path / "stage2"
        generate_pseudo_masks(model, dataset, str(out), settings, progress=False)
        foreground = 0
        for info in infos:
            name = info["img_path"].rsplit("/", 1)[-1][:-4]
            ours = np.array(Image.open(out / "masks" / f"{name}.png"))  # palette indices
            theirs = cv2.imread(str(tmp_path / f"{name}.png"), cv2.IMREAD_UNCHANGED)
            assert ours.shape == theirs.shape == (64, 64)
            assert (ours == theirs).mean() > 0.999
            foreground += int((ours > 0).sum())
            for index in present_classes(info["gt_label"]).tolist():
                grey = cv2.imread(str(tmp_path / f"{name}_{index}.png"), cv2.IMREAD_UNCHANGED)
                assert grey.shape == (64, 64) and grey.max() == 255  # each map peaks at 1
        assert foreground > 0  # the masks compared are not all background
