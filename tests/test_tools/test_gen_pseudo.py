"""tools/gen_pseudo.py end to end: the real config, a random checkpoint, synthetic data."""

import importlib.util
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from mmseg_l2g.apis import build_cam_model, load_config
from mmseg_l2g.datasets.label_io import read_index_mask
from mmseg_l2g.datasets.synthetic import make_synthetic

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, "tools", "gen_pseudo.py")
CONFIG = osp.join(REPO, "configs", "l2g", "l2g_plaincnn_1xb8-600it_synthetic-128.py")
NUM_TRAIN = 6


def load_tool():
    spec = importlib.util.spec_from_file_location("gen_pseudo_tool", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("stage2_tool")
    data = str(root / "data")
    make_synthetic(data, NUM_TRAIN, 2, seed=0, size=48, num_workers=1, progress=False)
    cfg = load_config(CONFIG)
    torch.manual_seed(0)
    model = build_cam_model(cfg, None)
    checkpoint = str(root / "ckpt.pth")
    torch.save({"state_dict": model.state_dict(), "meta": {}}, checkpoint)
    return dict(root=root, data=data, checkpoint=checkpoint, tool=load_tool())


def common_args(data, out_dir):
    return [
        "--out-dir", out_dir, "--scales", "1.0", "0.5", "--num-vis", "3", "--num-workers", "0",
        "--cfg-options", f"train_dataloader.dataset.data_root={data}",
    ]  # fmt: skip


def snapshot(out_dir):
    """Every output file's bytes (the log file left out: it has the times)."""
    files = {}
    for root, _, names in os.walk(out_dir):
        for name in names:
            if name == "gen_pseudo.log":
                continue
            path = osp.join(root, name)
            files[osp.relpath(path, out_dir)] = open(path, "rb").read()
    return files


def test_end_to_end_and_two_processes_match_one(setup, tmp_path):
    tool, data, checkpoint = setup["tool"], setup["data"], setup["checkpoint"]
    single = str(tmp_path / "single")
    assert tool.main([CONFIG, checkpoint, "--save-cams", *common_args(data, single)]) == 0
    files = snapshot(single)
    ids = [f"train_{i:06d}" for i in range(NUM_TRAIN)]
    assert sorted(k for k in files if k.startswith("masks/")) == [f"masks/{i}.png" for i in ids]
    assert sorted(k for k in files if k.startswith("cams/")) == [f"cams/{i}.npz" for i in ids]
    assert sorted(k for k in files if k.startswith("vis/")) == [f"vis/{i}.jpg" for i in ids[:3]]
    for img_id in ids:
        mask = read_index_mask(osp.join(single, "masks", img_id + ".png"))
        assert mask.shape == (48, 48) and set(np.unique(mask)) <= {0, 1, 2, 3, 4}
    metrics = json.loads(files["metrics.json"])
    assert metrics["num_images"] == NUM_TRAIN and metrics["chosen_thr"] == 0.25
    assert len(metrics["classes"]) == 5

    double = str(tmp_path / "double")
    torchrun = shutil.which("torchrun")
    launcher = [torchrun] if torchrun else [sys.executable, "-m", "torch.distributed.run"]
    # The same number of threads as this process: CPU kernels may sum in another order otherwise.
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS=str(torch.get_num_threads()))
    command = [*launcher, "--standalone", "--nproc_per_node", "2", TOOL, CONFIG, checkpoint,
               "--save-cams", "--launcher", "pytorch", *common_args(data, double)]  # fmt: skip
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # Whole batches of 4 per rank (the batches of the one-process run): 4 + 2 images.
    assert "processed per rank: [4, 2]" in proc.stdout + proc.stderr
    assert snapshot(double) == files  # every image once, same bytes, same metrics
    with open(osp.join(double, "gen_pseudo.log"), encoding="utf-8") as log:
        assert "processed per rank: [4, 2]" in log.read()  # the log file, in the output folder


def test_resume_and_resweep_from_cams(setup, tmp_path):
    tool, data, checkpoint = setup["tool"], setup["data"], setup["checkpoint"]
    out = str(tmp_path / "out")
    args = [CONFIG, checkpoint, "--save-cams", *common_args(data, out)]
    assert tool.main(args) == 0
    before = snapshot(out)
    for name in ("masks/train_000002.png", "cams/train_000005.npz", "metrics.json"):
        os.remove(osp.join(out, name))
    assert tool.main(args) == 0
    assert snapshot(out) == before
    # Re-sweep without the network: same masks and scores from the CAM files.
    resweep = str(tmp_path / "resweep")
    replay = [CONFIG, "--from-cams", osp.join(out, "cams"), *common_args(data, resweep)]
    assert tool.main([*replay, "--sweep", "0.05:0.5:0.05"]) == 0
    again = snapshot(resweep)
    for name in [k for k in before if k.startswith("masks/")] + ["metrics.json"]:
        assert again[name] == before[name], name
    # A rerun with another background threshold is refused, then allowed with --overwrite.
    assert tool.main([*replay, "--bg-thr", "0.4"]) == 2
    assert tool.main([*replay, "--bg-thr", "0.4", "--overwrite", "--sweep", "0.2", "0.4"]) == 0
    metrics = json.load(open(osp.join(resweep, "metrics.json")))
    assert [e["thr"] for e in metrics["sweep"]] == [0.2, 0.4]
    assert metrics["sweep"][1]["miou"] == pytest.approx(
        next(e["miou"] for e in json.loads(before["metrics.json"])["sweep"] if e["thr"] == 0.4)
    )


def test_bad_inputs(setup, tmp_path, capsys):
    tool, data, checkpoint = setup["tool"], setup["data"], setup["checkpoint"]
    # A checkpoint that does not fit the config: names the file and the keys.
    state = torch.load(checkpoint)["state_dict"]
    state.pop("global_head.conv_cam.weight")
    state["extra.weight"] = torch.zeros(1)
    wrong = str(tmp_path / "wrong.pth")
    torch.save({"state_dict": state}, wrong)
    assert tool.main([CONFIG, wrong, *common_args(data, str(tmp_path / "o1"))]) == 2
    err = capsys.readouterr().err
    assert "wrong.pth" in err and "global_head.conv_cam.weight" in err and "extra.weight" in err
    # An output folder that is a file.
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    assert tool.main([CONFIG, checkpoint, *common_args(data, str(a_file))]) == 2
    assert "is a file" in capsys.readouterr().err
    # Scales that are not positive.
    with pytest.raises(SystemExit) as exc:
        tool.main([CONFIG, checkpoint, "--out-dir", str(tmp_path / "o2"), "--scales", "1", "0"])
    assert exc.value.code == 2 and "must be positive" in capsys.readouterr().err
    # An image that fails to load: recorded, the others written, exit status 1.
    broken_data = str(tmp_path / "broken")
    shutil.copytree(data, broken_data)
    with open(osp.join(broken_data, "JPEGImages", "train_000001.jpg"), "wb") as f:
        f.write(b"\x00garbage")
    out = str(tmp_path / "o3")
    assert tool.main([CONFIG, checkpoint, *common_args(broken_data, out)]) == 1
    assert len(os.listdir(osp.join(out, "masks"))) == NUM_TRAIN - 1
    assert json.load(open(osp.join(out, "failed.json")))[0]["img_id"] == "train_000001"
