"""Round 3: no write over inputs, no silent wrong result, one-line errors (issue 23).

Each test is a case that failed on the old code: gen_pseudo writing into the
dataset or a foreign folder, ``--limit -1``, a checkpoint of another class
count through mmseg's ``init_model``, a negative loss weight, the probe on an
empty folder or a run whose checkpoint does not fit, a grey array through
``inference_model``, a dataset without any label, and the tools' errors (one
line, exit status non-zero, the traceback only with ``--debug``).
"""

import os
import os.path as osp
import shutil
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmseg.registry import DATASETS, MODELS
from reliability_helpers import (
    REPO,
    TEST_TOOL,
    gen_pseudo_args,
    run_tool,
    snapshot,
    tail,
    train,
    write_tiny_config,
)

from mmseg_l2g.apis import load_config
from mmseg_l2g.experiments.stages import StageRunner, last_error_line
from mmseg_l2g.utils.cli import run_main

L2G_CONFIG = osp.join(REPO, "configs", "l2g", "l2g_plaincnn_1xb8-600it_synthetic-128.py")


@pytest.fixture(autouse=True)
def _mmseg_scope():
    DefaultScope.get_instance("test_round3_inputs", scope_name="mmseg")


@pytest.fixture
def data_copy(tiny_data, tmp_path) -> str:
    """A copy of the tiny dataset this test may have written into."""
    root = str(tmp_path / "data")
    shutil.copytree(tiny_data, root)
    return root


def gen(tool, capsys, *argv) -> tuple:
    """``tools/gen_pseudo.py argv`` in-process: (exit status, the last stderr line)."""
    capsys.readouterr()
    code = tool.main([str(a) for a in argv])
    err = capsys.readouterr().err.strip().splitlines()
    return code, err[-1] if err else ""


# ------------------------------------------------------------------ stage 2: inputs kept
@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]], ids=["resume", "overwrite"])
@pytest.mark.parametrize("where", ["root", "ground_truth"])
def test_gen_pseudo_refuses_an_out_dir_over_the_dataset(
    tiny_config, random_checkpoint, gen_pseudo_tool, data_copy, capsys, overwrite, where
):
    before = snapshot(data_copy)
    out = data_copy if where == "root" else osp.join(data_copy, "SegmentationClass")
    config_data = ["--cfg-options", f"train_dataloader.dataset.data_root={data_copy}"]
    args = gen_pseudo_args(tiny_config, random_checkpoint, out, *overwrite, *config_data)
    code, err = gen(gen_pseudo_tool, capsys, *args)
    assert code == 2
    relation = "holds the images" if where == "root" else "lies in the ground truth"
    assert err.startswith(f"gen_pseudo.py: error: output folder {out} {relation}"), err
    assert snapshot(data_copy) == before  # no ground-truth mask touched, nothing added


def test_gen_pseudo_refuses_an_out_dir_holding_its_checkpoint(
    tiny_config, random_checkpoint, gen_pseudo_tool, tmp_path, capsys
):
    folder = tmp_path / "run"
    folder.mkdir()
    ckpt = str(folder / "iter_8.pth")
    shutil.copy(random_checkpoint, ckpt)
    code, err = gen(gen_pseudo_tool, capsys, *gen_pseudo_args(tiny_config, ckpt, str(folder)))
    assert code == 2 and f"holds the checkpoint the run reads ({ckpt})" in err, err
    assert sorted(os.listdir(folder)) == ["iter_8.pth"]


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]], ids=["resume", "overwrite"])
def test_gen_pseudo_refuses_a_foreign_folder(
    tiny_config, random_checkpoint, gen_pseudo_tool, tmp_path, capsys, overwrite
):
    out = tmp_path / "mine"
    (out / "masks").mkdir(parents=True)
    (out / "masks" / "train_000000.png").write_bytes(b"my own mask")
    (out / "notes.txt").write_text("keep")
    before = snapshot(str(out))
    args = gen_pseudo_args(tiny_config, random_checkpoint, str(out), *overwrite)
    code, err = gen(gen_pseudo_tool, capsys, *args)
    assert code == 2 and f"{out} is not a stage-2 output folder (no settings.json" in err, err
    assert snapshot(str(out)) == before


@pytest.mark.parametrize(
    "content, what", [("not json {", "not JSON"), ("[1, 2]", "a list without cam")]
)
def test_gen_pseudo_refuses_a_foreign_settings_file(
    tiny_config, random_checkpoint, gen_pseudo_tool, tmp_path, capsys, content, what
):
    out = tmp_path / "out"
    out.mkdir()
    (out / "settings.json").write_text(content)
    code, err = gen(
        gen_pseudo_tool, capsys, *gen_pseudo_args(tiny_config, random_checkpoint, str(out))
    )
    assert code == 2, err
    assert f"{out / 'settings.json'} is not stage 2's settings file ({what}" in err, err
    assert (out / "settings.json").read_text() == content


@pytest.mark.parametrize(
    "flag, value, allowed",
    [("--limit", "-1", ">= 1"), ("--limit", "0", ">= 1"), ("--batch-size", "0", ">= 1"),
     ("--num-workers", "-2", ">= 0"), ("--num-vis", "-1", ">= 0")],
)  # fmt: skip
def test_gen_pseudo_refuses_negative_counts_at_parse_time(
    tiny_config, random_checkpoint, gen_pseudo_tool, tmp_path, capsys, flag, value, allowed
):
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        gen_pseudo_tool.main([tiny_config, random_checkpoint, "--out-dir", str(out), flag, value])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert f"argument {flag}: must be an integer {allowed}, got {value}" in err, err
    assert not out.exists()


# ------------------------------------------------------------------ silent wrong results
def test_init_model_refuses_a_checkpoint_of_another_class_count(tmp_path):
    from mmseg.apis import init_model

    cfg = Config.fromfile(L2G_CONFIG)
    cfg.model.head.num_classes = 7
    path = str(tmp_path / "seven.pth")
    torch.save(dict(state_dict=MODELS.build(cfg.model).state_dict()), path)
    with pytest.raises(ValueError) as info:
        init_model(L2G_CONFIG, path, device="cpu")
    message = str(info.value)
    assert "checkpoint does not fit the L2GClassifier of the config: 2 shape keys" in message
    assert "global_head.conv_cam.weight: checkpoint (8, 64, 1, 1) vs model (5, 64, 1, 1)" in message


def test_demo_names_the_checkpoint_of_another_class_count(tiny_data, tmp_path, capsys):
    sys.path.insert(0, osp.join(REPO, "demo"))
    try:
        import image_demo
    finally:
        sys.path.pop(0)
    cfg = Config.fromfile(L2G_CONFIG)
    cfg.model.head.num_classes = 7
    path = str(tmp_path / "seven.pth")
    torch.save(dict(state_dict=MODELS.build(cfg.model).state_dict()), path)
    image = osp.join(tiny_data, "JPEGImages", "val_000000.jpg")
    out = tmp_path / "out"
    code = image_demo.main([image, L2G_CONFIG, path, "--out-dir", str(out), "--device", "cpu"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1 and not out.exists()
    assert err.startswith(f"image_demo.py: error: checkpoint {path}: checkpoint does not fit")
    # An unknown --labels name: one line, exit 1 (was a traceback).
    ok = str(tmp_path / "ok.pth")
    cfg.model.head.num_classes = 4
    state = MODELS.build(cfg.model).state_dict()
    torch.save(dict(state_dict=state), ok)  # no meta: mmseg's init_model needs its classes
    argv = [image, L2G_CONFIG, ok, "--out-dir", str(out), "--device", "cpu", "--labels", "cat"]
    assert image_demo.main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"image_demo.py: error: checkpoint {ok}: no 'meta' entry"), err
    classes = ("background", "red", "green", "blue", "yellow")
    meta = dict(dataset_meta=dict(classes=classes, palette=[[0, 0, 0]] * 5))
    torch.save(dict(state_dict=state, meta=meta), ok)
    assert image_demo.main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("image_demo.py: error: unknown class(es) ['cat']") and "\n" not in err


@pytest.mark.parametrize(
    "key, owner",
    [("loss_transfer.loss_weight", "AttentionTransferLoss"),
     ("loss_shape.loss_weight", "ShapeTransferLoss"),
     ("local_cls_weight", "L2GClassifier"), ("global_cls_weight", "L2GClassifier")],
)  # fmt: skip
def test_a_negative_loss_weight_is_refused_at_build_time(key, owner):
    cfg = Config.fromfile(osp.join(REPO, "configs", "l2g",
                                   "l2g-sal_plaincnn_1xb8-600it_synthetic-128.py"))  # fmt: skip
    cfg.merge_from_dict({f"model.{key}": -0.5})
    name = key.split(".")[-1]
    with pytest.raises(ValueError, match=rf"{owner}: {name} must be a number >= 0, got -0.5"):
        MODELS.build(cfg.model)


def test_inference_model_reads_a_grey_array_as_the_image_in_three_channels(tiny_data):
    from mmseg.apis import inference_model, init_model

    torch.manual_seed(0)
    model = init_model(L2G_CONFIG, None, device="cpu")
    model.dataset_meta = dict(classes=("background", "a", "b", "c", "d"), palette=[[0] * 3] * 5)
    grey = np.random.default_rng(0).integers(0, 256, (40, 52), dtype=np.uint8)
    result = inference_model(model, grey)
    assert tuple(result.pred_sem_seg.data.shape) == (1, 40, 52)
    expected = inference_model(model, np.repeat(grey[:, :, None], 3, axis=2))
    assert torch.equal(result.pred_cam.data, expected.pred_cam.data)
    with pytest.raises(ValueError, match=r"expected BGR images .* got a tensor of shape \(2, "):
        inference_model(model, np.zeros((8, 8, 2), np.uint8))


def test_a_dataset_without_any_label_is_refused_naming_the_file(tiny_config, data_copy):
    split = osp.join(data_copy, "ImageSets", "Segmentation")
    ids = [line.split()[0] for line in open(osp.join(split, "train_cls.txt"))]
    with open(osp.join(split, "train_cls.txt"), "w") as f:
        f.write("".join(f"{img_id}\n" for img_id in ids))
    cfg = load_config(tiny_config).train_dataloader.dataset
    cfg.data_root = data_copy
    with pytest.raises(ValueError, match=r"none of the 16 images of .*train.txt has a positive"):
        DATASETS.build(cfg)


def test_probe_on_an_empty_folder_or_a_misfit_checkpoint_is_an_error(tiny_data, tmp_path, capsys):
    from benchmarks import probe_transfer_targets as probe

    out = tmp_path / "probe.json"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert probe.main([str(empty), "--out", str(out)]) == 1
    assert "no L2G run in" in capsys.readouterr().err and not out.exists()
    # A run whose checkpoint is of another model: refused, naming the keys (was scored).
    run = tmp_path / "run" / "l2g"
    run.mkdir(parents=True)
    config = write_tiny_config(str(run / "tiny_l2g.py"), tiny_data)
    torch.save(dict(state_dict=MODELS.build(Config.fromfile(L2G_CONFIG).model).state_dict()),
               str(run / "iter_2.pth"))  # fmt: skip
    assert probe.main([str(run.parent), "--out", str(out), "--images", "2"]) == 1
    err = capsys.readouterr().err.strip()
    assert f"iter_2.pth does not fit the model of config {config}" in err, err
    assert "shape keys" in err and not out.exists()


# ------------------------------------------------------------------ one-line errors
def test_run_main_gives_one_line_and_debug_the_traceback(capsys):
    def fail():
        raise ValueError("--labels: unknown class 'cat'\nsecond line")

    assert run_main("tool.py", fail) == 1
    assert capsys.readouterr().err == "tool.py: error: --labels: unknown class 'cat'\n"
    assert run_main("tool.py", lambda: (_ for _ in ()).throw(KeyError("no 'x'")), status=2) == 2
    assert capsys.readouterr().err == "tool.py: error: no 'x'\n"
    with pytest.raises(ValueError, match="unknown class"):
        run_main("tool.py", fail, debug=True)


def test_a_failed_stage_reports_its_own_error(tmp_path):
    stages = StageRunner(str(tmp_path / "work"), quiet=True)
    script = "import sys; print('working'); sys.exit('train.py: error: num_views must be >= 1')"
    with pytest.raises(RuntimeError) as info:
        stages.run("l2g", ["-c", script])
    message = str(info.value)
    assert message.startswith("stage 'l2g': train.py: error: num_views must be >= 1 (exit 1;")
    traceback_text = ["Traceback (most recent call last):", '  File "x.py"', "KeyError: 'rows'"]
    assert last_error_line(traceback_text + ["", "  "]) == "KeyError: 'rows'"


def test_train_and_test_tools_end_user_errors_in_one_line(tiny_config, random_checkpoint, tmp_path):
    options = ["--cfg-options", "train_dataloader.dataset.pipeline.3.num_views=0"]
    proc = train(tiny_config, str(tmp_path / "work"), *options)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, tail(proc)
    assert proc.stderr.strip().splitlines()[-1].startswith("train.py: error: "), tail(proc)
    assert "num_views must be >= 1, got 0" in proc.stderr, tail(proc)
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    proc = run_tool([TEST_TOOL, tiny_config, random_checkpoint, "--show-dir", str(blocker / "vis")])
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, tail(proc)
    assert proc.stderr.strip().splitlines()[-1] == (
        f"test.py: error: --show-dir {blocker / 'vis'} lies under the file {blocker}, not a folder"
    )
    assert blocker.read_text() == ""
