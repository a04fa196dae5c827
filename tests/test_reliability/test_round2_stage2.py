"""Round 2 of the red-team cases on stage 2 (issues 14 and 15): each failed on the old code.

Resume identity (checkpoint content, dataset), non-finite checkpoints and CAM
files, unbounded requests refused up front, an image too large for memory,
a user's ``.tmp_*`` files, the log file, true counts and a non-L2G config.
"""

import json
import os
import os.path as osp
import shutil

import numpy as np
import pytest
import torch
from PIL import Image
from reliability_helpers import gen_pseudo_args

from mmseg_l2g.io import save_cams_npz


def run(tool, capsys, *argv) -> tuple:
    """``tools/gen_pseudo.py argv`` in-process: (exit status, stderr)."""
    capsys.readouterr()
    code = tool.main(list(argv))
    return code, capsys.readouterr().err


def test_resume_refuses_a_retrained_checkpoint_of_the_same_size(
    tiny_config, random_checkpoint, gen_pseudo_tool, tmp_path, capsys
):
    ckpt = str(tmp_path / "ckpt.pth")
    shutil.copy(random_checkpoint, ckpt)
    out = str(tmp_path / "out")
    assert run(gen_pseudo_tool, capsys, *gen_pseudo_args(tiny_config, ckpt, out))[0] == 0
    state = torch.load(ckpt)["state_dict"]
    state["global_head.conv_cam.weight"] += 1.0  # "retrained": other weights, same layout
    size = osp.getsize(ckpt)
    torch.save({"state_dict": state, "meta": {}}, ckpt)
    assert osp.getsize(ckpt) == size
    code, err = run(gen_pseudo_tool, capsys, *gen_pseudo_args(tiny_config, ckpt, out))
    assert code == 2 and "other settings (checkpoint" in err and "sha256" in err


def test_resume_refuses_another_data_root(
    tiny_config, tiny_data, random_checkpoint, gen_pseudo_tool, tmp_path, capsys
):
    out = str(tmp_path / "out")
    assert (
        run(gen_pseudo_tool, capsys, *gen_pseudo_args(tiny_config, random_checkpoint, out))[0] == 0
    )
    other = str(tmp_path / "other_data")
    shutil.copytree(tiny_data, other)
    moved = gen_pseudo_args(tiny_config, random_checkpoint, out)
    moved += ["--cfg-options", f"train_dataloader.dataset.data_root={other}"]
    code, err = run(gen_pseudo_tool, capsys, *moved)
    assert code == 2 and "other settings (dataset" in err and other in err


def test_all_nan_checkpoint_is_refused_naming_the_file(
    tiny_config, random_checkpoint, gen_pseudo_tool, tmp_path, capsys
):
    state = {k: torch.full_like(v, float("nan")) if v.is_floating_point() else v
             for k, v in torch.load(random_checkpoint)["state_dict"].items()}  # fmt: skip
    nan_ckpt = str(tmp_path / "nan.pth")
    torch.save({"state_dict": state}, nan_ckpt)
    out = str(tmp_path / "out")
    code, err = run(gen_pseudo_tool, capsys, *gen_pseudo_args(tiny_config, nan_ckpt, out))
    assert code == 2 and f"checkpoint {nan_ckpt}: weights" in err and "NaN" in err
    assert not osp.exists(osp.join(out, "masks"))


@pytest.mark.parametrize("value", [np.nan, np.inf, 1.5, -0.2])
def test_from_cams_refuses_non_finite_or_out_of_range_files(
    tiny_config, random_checkpoint, gen_pseudo_tool, tmp_path, capsys, value
):
    out = str(tmp_path / "out")
    assert (
        run(gen_pseudo_tool, capsys, *gen_pseudo_args(tiny_config, random_checkpoint, out))[0] == 0
    )
    bad = osp.join(out, "cams", "train_000003.npz")
    with np.load(bad) as data:
        cams, labels = data["cams"].astype(np.float32), data["labels"]
    cams[0, 5, 5] = value
    save_cams_npz(bad, cams, labels)
    replay = str(tmp_path / "replay")
    code, _ = run(gen_pseudo_tool, capsys, tiny_config, "--from-cams", osp.join(out, "cams"),
                  "--out-dir", replay, "--num-vis", "0")  # fmt: skip
    assert code == 1
    failed = json.load(open(osp.join(replay, "failed.json")))
    assert [entry["img_id"] for entry in failed] == ["train_000003"]
    assert bad in failed[0]["reason"] and "finite and in [0, 1]" in failed[0]["reason"]
    assert not osp.exists(osp.join(replay, "masks", "train_000003.png"))


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--scales", "inf"], "--scales: must be positive in (0, 8], got inf"),
        (["--scales", "1", "nan"], "--scales: must be positive in (0, 8], got nan"),
        (["--bg-thr", "nan"], "--bg-thr: must be in [0, 1], got nan"),
    ],
)
def test_unbounded_or_non_finite_flags_are_refused_up_front(
    tiny_config, random_checkpoint, gen_pseudo_tool, tmp_path, capsys, extra, message
):
    out = str(tmp_path / "out")
    with pytest.raises(SystemExit) as exit_info:
        gen_pseudo_tool.main([tiny_config, random_checkpoint, "--out-dir", out, *extra])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err
    assert not osp.exists(out)


def test_exploding_sweep_is_refused_before_anything_is_made(
    tiny_config, random_checkpoint, gen_pseudo_tool, tmp_path, capsys
):
    out = str(tmp_path / "out")
    code, err = run(gen_pseudo_tool, capsys, tiny_config, random_checkpoint, "--out-dir", out,
                    "--sweep", "0:1:1e-9")  # fmt: skip
    assert code == 2 and "more than 1001; use a larger step" in err
    assert not osp.exists(out)


def test_an_image_too_large_is_recorded_as_failed_and_the_run_completes(
    tiny_config, tiny_data, random_checkpoint, gen_pseudo_tool, tmp_path, capsys
):
    data = str(tmp_path / "data")
    shutil.copytree(tiny_data, data)
    huge = osp.join(data, "JPEGImages", "train_000002.jpg")
    Image.new("RGB", (6000, 6000), (90, 120, 30)).save(huge, quality=50)
    out = str(tmp_path / "out")
    args = gen_pseudo_args(tiny_config, random_checkpoint, out)
    args += ["--cfg-options", f"train_dataloader.dataset.data_root={data}"]
    code, _ = run(gen_pseudo_tool, capsys, *args)
    assert code == 1
    failed = json.load(open(osp.join(out, "failed.json")))
    assert [entry["img_id"] for entry in failed] == ["train_000002"]
    assert "6000x6000, more than max_pixels" in failed[0]["reason"]
    assert len(os.listdir(osp.join(out, "masks"))) == 15
    assert json.load(open(osp.join(out, "metrics.json")))["num_failed"] == 1


def test_rerun_counts_log_file_folders_and_users_temp_files(
    tiny_config, random_checkpoint, gen_pseudo_tool, tmp_path, capsys
):
    out = str(tmp_path / "out")
    args = [tiny_config, random_checkpoint, "--out-dir", out, "--scales", "1.0", "--num-vis", "0"]
    assert run(gen_pseudo_tool, capsys, *args)[0] == 0
    assert sorted(os.listdir(out)) == [
        "gen_pseudo.log",
        "masks",
        "metrics.json",
        "settings.json",
    ]  # fmt: skip  (no cams/ without --save-cams, no vis/ without overlays)
    users = [osp.join(out, "masks", ".tmp_notes.png"), osp.join(out, ".tmp_draft.json")]
    for path in users:
        with open(path, "w") as f:
            f.write("mine")
    assert run(gen_pseudo_tool, capsys, *args)[0] == 0
    assert all(osp.isfile(path) for path in users)  # a user's .tmp_* files are not touched
    log = open(osp.join(out, "gen_pseudo.log"), encoding="utf-8").read()
    assert "16 images written, 0 already complete" in log
    assert "0 images written, 16 already complete, 0 failed, of 16" in log
    metrics = json.load(open(osp.join(out, "metrics.json")))
    chosen = metrics["chosen"]
    assert 1.0 < chosen["miou"] <= 100.0  # percent, as mmseg logs it
    assert f"mIoU {chosen['miou']:.2f}% at bg_thr" in log


def test_a_config_that_is_not_l2g_gets_a_one_line_error(
    tiny_config, random_checkpoint, gen_pseudo_tool, tmp_path, capsys
):
    config = tmp_path / "pspnet_like.py"
    config.write_text(
        f"_base_ = {tiny_config!r}\n"
        "model = dict(_delete_=True, type='EncoderDecoder',\n"
        "    backbone=dict(type='PlainCNN', channels=(8, 16, 16, 16)),\n"
        "    decode_head=dict(type='FCNHead', in_channels=16, channels=8, num_convs=1,\n"
        "        num_classes=5, in_index=-1))\n"
    )
    code, err = run(gen_pseudo_tool, capsys, str(config), random_checkpoint, "--out-dir",
                    str(tmp_path / "out"))  # fmt: skip
    assert code == 2
    assert err.strip().count("\n") == 0 and "is a EncoderDecoder, not an L2GClassifier" in err


def test_load_from_a_hostile_checkpoint_is_refused_naming_the_file(tiny_config, tmp_path):
    from mmengine.logging.history_buffer import HistoryBuffer
    from reliability_helpers import tail, train

    class GetattrPayload:  # unpickles as getattr(HistoryBuffer, '__init__'): refused
        def __reduce__(self):
            return getattr, (HistoryBuffer, "__init__")

    hostile = str(tmp_path / "hostile.pth")
    torch.save({"state_dict": {}, "x": GetattrPayload()}, hostile)
    proc = train(tiny_config, str(tmp_path / "work"), "--cfg-options", f"load_from={hostile}")
    assert proc.returncode != 0
    assert f"checkpoint {hostile}: cannot load" in proc.stderr, tail(proc)
