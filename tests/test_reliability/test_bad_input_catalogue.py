"""The bad-input catalogue: every bad input of issues 2, 5 and 9 in one module.

Each case goes through a public entry point (``DATASETS.build``, the
pipeline, the data preprocessor and model, or a tool) and asserts either a
clear error (its type and message, naming the file and the problem) or the
correct output. The tool cases run in one subprocess with a timeout, so
nothing can hang.

| case | entry point | expected |
| --- | --- | --- |
| missing image | DATASETS.build | FileNotFoundError naming it |
| unreadable / truncated image | pipeline (LoadWSSSImage) | OSError naming it |
| unknown class in a label line | DATASETS.build | ValueError file:line |
| image with no positive label | DATASETS.build | dropped and counted (or ValueError) |
| saliency map of another size | pipeline (LoadSaliencyMap) | resized (or ValueError) |
| grey / 4-channel / 16-bit image | pipeline (LoadWSSSImage) | converted (16-bit: ValueError) |
| label index out of range | DATASETS.build | ValueError file:line |
| dataset root that does not exist | DATASETS.build | FileNotFoundError naming it |
| empty split | DATASETS.build | ValueError naming it |
| images smaller than the local crop | pipeline + preprocessor + model | works |
| saliency folder missing files | DATASETS.build + model; gen_pseudo | both losses; failed.json |
| unregistered type | DATASETS.build; train.py; gen_pseudo | KeyError naming it |
| checkpoint that does not fit | gen_pseudo; test.py | error naming keys |
| corrupt checkpoint | gen_pseudo; test.py; train.py --resume | error naming it |
| out-dir that is a file | gen_pseudo | exit 2 |
| image failing to load | gen_pseudo | recorded, run continues, exit 1 |
| non-positive scales | gen_pseudo | exit 2 |
"""

import json
import os
import os.path as osp
import shutil

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope
from mmseg.registry import DATASETS, MODELS
from PIL import Image
from reliability_helpers import (
    GEN_TOOL,
    TEST_TOOL,
    TRAIN_TOOL,
    run_cases,
    write_tiny_config,
)

from mmseg_l2g.apis import load_config

CLASSES = ("background", "cat", "dog", "car", "bus")  # C = 4, as the tiny model
LOAD = [dict(type="LoadWSSSImage")]


# ----------------------------------------------------------------- helpers
@pytest.fixture(autouse=True)
def _mmseg_scope():
    """Pipelines and models resolve their types in mmseg's registries."""
    DefaultScope.get_instance("test_bad_input_catalogue", scope_name="mmseg")


def rgb(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def make_tree(root, images, labels, saliency=None, split=None):
    """Writes ``JPEGImages/<id>.png`` (lossless), ``Saliency/``, a split and a label list."""
    (root / "JPEGImages").mkdir(parents=True, exist_ok=True)
    (root / "Saliency").mkdir(exist_ok=True)
    for img_id, array in images.items():
        if isinstance(array, bytes):
            (root / "JPEGImages" / f"{img_id}.png").write_bytes(array)
        else:
            Image.fromarray(array).save(root / "JPEGImages" / f"{img_id}.png")
    for img_id, array in (saliency or {}).items():
        Image.fromarray(array).save(root / "Saliency" / f"{img_id}.png")
    (root / "train.txt").write_text(split if split is not None else "\n".join(labels) + "\n")
    (root / "labels.txt").write_text("\n".join(f"{k} {v}" for k, v in labels.items()) + "\n")
    return root


def build(root, pipeline=(), **kwargs):
    cfg = dict(
        type="WSSSDataset",
        data_root=str(root),
        ann_file="train.txt",
        label_file="labels.txt",
        data_prefix=dict(img_path="JPEGImages", sal_path="Saliency"),
        img_suffix=".png",
        metainfo=dict(classes=CLASSES),
        pipeline=list(pipeline),
        test_mode=True,
    )
    cfg.update(kwargs)
    return DATASETS.build(cfg)


# ------------------------------------------------------ dataset and pipeline
def test_missing_image(tmp_path):
    root = make_tree(tmp_path, {"a": rgb(8, 8)}, {"a": "0", "b": "1"})
    missing = osp.join(str(root), "JPEGImages", "b.png")
    expected = rf"1 of 2 images .* not found \(first: {missing}\)"
    with pytest.raises(FileNotFoundError, match=expected):
        build(root)


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_unreadable_or_truncated_image(tmp_path, damage):
    path = tmp_path / "full.jpg"
    Image.fromarray(rgb(32, 32)).save(path, format="JPEG")
    data = path.read_bytes()
    broken = data[: len(data) // 2] if damage == "truncated" else b"\x00not an image"
    root = make_tree(tmp_path, {"a": rgb(8, 8), "b": broken}, {"a": "0", "b": "1"})
    dataset = build(root, LOAD)
    assert dataset[0]["img"].shape == (8, 8, 3)  # the good image still loads
    with pytest.raises(OSError, match=r"b\.png: cannot read image, unreadable or truncated"):
        dataset[1]


def test_unknown_class_in_label_line(tmp_path):
    root = make_tree(tmp_path, {"a": rgb(8, 8), "b": rgb(8, 8)}, {"a": "cat", "b": "dog zebra"})
    with pytest.raises(ValueError, match=r"labels\.txt:2: unknown class name 'zebra'"):
        build(root)


def test_label_index_out_of_range(tmp_path):
    root = make_tree(tmp_path, {"a": rgb(8, 8), "b": rgb(8, 8)}, {"a": "0", "b": "1 4"})
    with pytest.raises(ValueError, match=r"labels\.txt:2: class index 4 out of range 0\.\.3"):
        build(root)


def test_image_with_no_positive_label(tmp_path, logs):
    images = {k: rgb(8, 8) for k in "abc"}
    root = make_tree(tmp_path, images, {"a": "0", "b": "", "c": "2"})
    dataset = build(root)
    assert [dataset.get_data_info(i)["img_id"] for i in range(len(dataset))] == ["a", "c"]
    assert dataset.num_dropped_unlabeled == 1
    assert any("dropped 1 of 3 images" in m and "['b']" in m for m in logs.messages)
    with pytest.raises(ValueError, match=r"1 images of .*train\.txt have no positive label"):
        build(root, drop_unlabeled=False)


def test_saliency_of_another_size(tmp_path, logs):
    saliency = np.zeros((8, 8), np.uint8)
    saliency[:, 4:] = 255  # right half salient
    root = make_tree(tmp_path, {"a": rgb(12, 16)}, {"a": "0"}, saliency={"a": saliency})
    dataset = build(root, LOAD + [dict(type="LoadSaliencyMap")])
    result = dataset[0]
    assert result["gt_saliency"].shape == (12, 16) and result["gt_saliency"].dtype == np.float32
    np.testing.assert_allclose(result["gt_saliency"][:, :6], 0.0, atol=1e-6)
    np.testing.assert_allclose(result["gt_saliency"][:, 10:], 1.0, atol=1e-6)
    assert any("saliency map is 8x8, image is 12x16" in m for m in logs.messages)
    strict = build(root, LOAD + [dict(type="LoadSaliencyMap", on_size_mismatch="error")])
    with pytest.raises(ValueError, match=r"a\.png: saliency map is 8x8, image is 12x16"):
        strict[0]


def test_grey_four_channel_and_16_bit_images(tmp_path):
    grey = rgb(6, 5)[..., 0]
    rgba = np.dstack([rgb(6, 5, seed=1), np.full((6, 5), 7, np.uint8)])
    images = {"grey": grey, "rgba": rgba, "deep": b""}
    root = make_tree(tmp_path, images, {"grey": "0", "rgba": "1", "deep": "2"})
    Image.fromarray(np.full((6, 5), 4000, np.uint16)).save(root / "JPEGImages" / "deep.png")
    dataset = build(root, LOAD)
    img = dataset[0]["img"]
    assert img.shape == (6, 5, 3) and img.dtype == np.uint8
    assert all(np.array_equal(img[..., c], grey) for c in range(3))
    np.testing.assert_array_equal(dataset[1]["img"], rgba[..., 2::-1])  # BGR, alpha dropped
    with pytest.raises(ValueError, match=r"deep\.png: image mode 'I;16' is not supported"):
        dataset[2]


def test_dataset_root_that_does_not_exist(tmp_path):
    missing = str(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match=f"data_root not found: {missing}"):
        build(missing)


def test_empty_split(tmp_path):
    root = make_tree(tmp_path, {"a": rgb(8, 8)}, {"a": "0"}, split="# no images\n\n")
    with pytest.raises(ValueError, match=r"split list .*train\.txt holds no image ids"):
        build(root)


def test_unregistered_dataset_type():
    with pytest.raises(KeyError, match="NoSuchDataset is not in the mmseg::dataset registry"):
        DATASETS.build(dict(type="NoSuchDataset"))


@pytest.fixture(scope="module")
def tiny_model(tiny_config):
    cfg = load_config(tiny_config)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def test_images_smaller_than_the_local_crop(tmp_path, tiny_model):
    # 40x60 images, 90 px local views: boxes clamp to the image, views are resampled.
    images = {"a": rgb(40, 60), "b": rgb(40, 60, seed=1)}
    root = make_tree(tmp_path, images, {"a": "0", "b": "1 2"})
    pipeline = LOAD + [
        dict(type="LocalCropTransform", num_views=3, crop_size=90),
        dict(type="PackL2GInputs"),
    ]
    dataset = build(root, pipeline)
    batch = pseudo_collate([dataset[0], dataset[1]])
    for sample in batch["data_samples"]:
        assert sample.local_boxes.tolist() == [[0.0, 0.0, 60.0, 40.0]] * 3
    data = tiny_model.data_preprocessor(batch, training=True)
    views = data["local_inputs"]
    assert views.shape == (6, 3, 90, 90)
    expected = F.interpolate(data["inputs"], size=(90, 90), mode="bilinear", align_corners=False)
    torch.testing.assert_close(views, expected.repeat_interleave(3, dim=0), atol=1e-4, rtol=0)
    losses = tiny_model(**data, mode="loss")
    assert set(losses) == {"loss_cls_local", "loss_at", "loss_st"}
    assert all(bool(torch.isfinite(v)) for v in losses.values()) and losses["loss_at"] > 0


def test_saliency_folder_missing_some_files(tmp_path, tiny_model, logs):
    images = {"a": rgb(96, 96), "b": rgb(96, 96, seed=1)}
    saliency = {"a": np.full((96, 96), 200, np.uint8)}  # b has no saliency map
    root = make_tree(tmp_path, images, {"a": "0", "b": "1"}, saliency=saliency)
    pipeline = LOAD + [
        dict(type="LoadSaliencyMap"),
        dict(type="LocalCropTransform", num_views=2, crop_size=64),
        dict(type="PackL2GInputs"),
    ]
    dataset = build(root, pipeline)
    assert [dataset.has_saliency(0), dataset.has_saliency(1)] == [True, False]
    assert dataset.num_with_saliency == 1
    assert any("saliency maps found for 1 of 2 images" in m for m in logs.messages)
    batch = pseudo_collate([dataset[0], dataset[1]])
    assert hasattr(batch["data_samples"][0], "local_saliency")
    assert not hasattr(batch["data_samples"][1], "local_saliency")
    data = tiny_model.data_preprocessor(batch, training=True)
    losses = tiny_model(**data, mode="loss")
    # a uses the shape transfer loss, b the attention transfer loss; both count.
    assert losses["loss_st"] > 0 and losses["loss_at"] > 0
    assert all(bool(torch.isfinite(v)) for v in losses.values())


# --------------------------------------------------------------------- tools
@pytest.fixture(scope="module")
def tool_results(tiny_config, tiny_data, tmp_path_factory):
    """Every tool case, run in one subprocess (import once, timeout for all)."""
    work = tmp_path_factory.mktemp("catalogue_tools")
    cfg = load_config(tiny_config)
    torch.manual_seed(0)
    state = MODELS.build(cfg.model).state_dict()
    checkpoint = str(work / "fits.pth")
    torch.save({"state_dict": state, "meta": {}}, checkpoint)
    wrong_state = dict(state)
    wrong_state.pop("global_head.conv_cam.weight")
    wrong_state["extra.weight"] = torch.zeros(1)
    wrong = str(work / "wrong.pth")
    torch.save({"state_dict": wrong_state}, wrong)
    corrupt = str(work / "corrupt.pth")
    with open(checkpoint, "rb") as src, open(corrupt, "wb") as dst:
        dst.write(src.read()[:2000])
    eval_config = write_tiny_config(str(work / "eval.py"), tiny_data, evaluation=True)
    unregistered = str(work / "unregistered.py")
    with open(unregistered, "w") as f:
        f.write(f"_base_ = {tiny_config!r}\n")
        f.write('model = dict(backbone=dict(_delete_=True, type="NoSuchBackbone"))\n')
    broken = str(work / "broken_data")
    shutil.copytree(tiny_data, broken)
    with open(osp.join(broken, "JPEGImages", "train_000001.jpg"), "wb") as f:
        f.write(b"\x00garbage")
    saliency_dir = str(work / "saliency")
    os.makedirs(saliency_dir)
    for img_id in ("train_000000", "train_000002", "train_000003"):  # no train_000001
        shutil.copy(osp.join(tiny_data, "Saliency", img_id + ".png"), saliency_dir)
    resume_dir = str(work / "resume")
    os.makedirs(resume_dir)
    with open(osp.join(resume_dir, "iter_2.pth"), "wb") as f:
        f.write(b"PK\x03\x04 truncated")
    with open(osp.join(resume_dir, "last_checkpoint"), "w") as f:
        f.write(osp.join(resume_dir, "iter_2.pth"))
    out = str(work / "out")
    a_file = str(work / "a_file")
    with open(a_file, "w") as f:
        f.write("x")

    def gen(name, config, ckpt, *extra, data=None):
        argv = [config, ckpt, "--out-dir", osp.join(out, name), "--scales", "1.0"]
        argv += ["--num-workers", "0", "--limit", "4", "--num-vis", "0", *extra]
        if data is not None:
            argv += ["--cfg-options", f"train_dataloader.dataset.data_root={data}"]
        return dict(name=name, tool=GEN_TOOL, argv=argv)

    cases = [
        gen("gen_wrong_ckpt", tiny_config, wrong),
        gen("gen_corrupt_ckpt", tiny_config, corrupt),
        dict(
            name="gen_out_dir_file",
            tool=GEN_TOOL,
            argv=[tiny_config, checkpoint, "--out-dir", a_file, "--num-workers", "0"],
        ),
        gen("gen_zero_scale", tiny_config, checkpoint, "--scales", "1", "0"),
        gen("gen_negative_scale", tiny_config, checkpoint, "--scales", "-0.5"),
        gen("gen_broken_image", tiny_config, checkpoint, data=broken),
        gen("gen_saliency_missing", tiny_config, checkpoint, "--saliency-dir", saliency_dir),
        gen("gen_unregistered", unregistered, checkpoint),
        dict(name="test_wrong_ckpt", tool=TEST_TOOL, argv=[eval_config, wrong, "--work-dir", out]),
        dict(name="test_corrupt_ckpt", tool=TEST_TOOL, argv=[eval_config, corrupt]),
        dict(name="train_unregistered", tool=TRAIN_TOOL, argv=[unregistered, "--work-dir", out]),
        dict(
            name="train_missing_root",
            tool=TRAIN_TOOL,
            argv=[tiny_config, "--work-dir", out, "--cfg-options"]
            + [f"train_dataloader.dataset.data_root={work / 'nowhere'}"],
        ),
        dict(
            name="train_resume_corrupt",
            tool=TRAIN_TOOL,
            argv=[tiny_config, "--work-dir", resume_dir, "--resume"],
        ),
    ]
    results = run_cases(cases, str(work))
    return dict(
        results=results, out=out, wrong=wrong, corrupt=corrupt, work=str(work), resume=resume_dir
    )


def test_checkpoint_that_does_not_fit_the_config(tool_results):
    gen = tool_results["results"]["gen_wrong_ckpt"]
    assert gen["code"] == 2
    assert "wrong.pth does not fit the model" in gen["stderr"]
    assert "global_head.conv_cam.weight" in gen["stderr"] and "extra.weight" in gen["stderr"]
    test = tool_results["results"]["test_wrong_ckpt"]
    assert test["code"] == 1 and "Traceback" not in test["stderr"]  # one line (round 3)
    assert f"test.py: error: checkpoint {tool_results['wrong']} does not fit" in test["stderr"]
    assert "1 missing keys (global_head.conv_cam.weight)" in test["stderr"]
    assert "1 unexpected keys (extra.weight)" in test["stderr"]


def test_corrupt_checkpoint_file(tool_results):
    corrupt = tool_results["corrupt"]
    gen = tool_results["results"]["gen_corrupt_ckpt"]
    assert gen["code"] == 2 and f"checkpoint {corrupt}: cannot load" in gen["stderr"]
    test = tool_results["results"]["test_corrupt_ckpt"]
    assert (
        test["code"] == 1 and f"test.py: error: checkpoint {corrupt}: cannot load" in test["stderr"]
    )
    resume = tool_results["results"]["train_resume_corrupt"]
    bad = osp.join(tool_results["resume"], "iter_2.pth")
    assert resume["code"] == 1
    assert (
        f"train.py: error: --resume: cannot load {bad}, the checkpoint named by" in resume["stderr"]
    )


def test_out_dir_that_is_a_file(tool_results):
    result = tool_results["results"]["gen_out_dir_file"]
    assert result["code"] == 2 and "a_file is a file, not a folder" in result["stderr"]


@pytest.mark.parametrize("case", ["gen_zero_scale", "gen_negative_scale"])
def test_non_positive_scales(tool_results, case):
    result = tool_results["results"][case]
    assert result["code"] == 2
    assert "argument --scales: must be positive" in result["stderr"]
    assert not osp.exists(osp.join(tool_results["out"], case))


def test_image_failing_to_load_during_gen_pseudo(tool_results):
    result = tool_results["results"]["gen_broken_image"]
    assert result["code"] == 1  # the run went on, then exited non-zero
    out = osp.join(tool_results["out"], "gen_broken_image")
    masks = sorted(os.listdir(osp.join(out, "masks")))
    assert masks == ["train_000000.png", "train_000002.png", "train_000003.png"]
    with open(osp.join(out, "failed.json")) as f:
        failed = json.load(f)
    assert [entry["img_id"] for entry in failed] == ["train_000001"]
    assert "train_000001.jpg: cannot read image" in failed[0]["reason"]


def test_saliency_folder_missing_some_files_in_gen_pseudo(tool_results):
    result = tool_results["results"]["gen_saliency_missing"]
    assert result["code"] == 1
    out = osp.join(tool_results["out"], "gen_saliency_missing")
    assert len(os.listdir(osp.join(out, "masks"))) == 3
    with open(osp.join(out, "failed.json")) as f:
        failed = json.load(f)
    assert [entry["img_id"] for entry in failed] == ["train_000001"]
    assert "saliency map not found" in failed[0]["reason"]
    assert "train_000001.png" in failed[0]["reason"]


def test_config_naming_an_unregistered_type(tool_results):
    train = tool_results["results"]["train_unregistered"]
    assert train["code"] == 1 and "\ntrain.py: error: " in "\n" + train["stderr"]
    assert "NoSuchBackbone is not in the mmseg::model registry" in train["stderr"]
    gen = tool_results["results"]["gen_unregistered"]
    assert gen["code"] == 2
    assert "NoSuchBackbone is not in the mmseg::model registry" in gen["stderr"]


def test_dataset_root_that_does_not_exist_in_training(tool_results):
    result = tool_results["results"]["train_missing_root"]
    assert result["code"] == 1 and "\ntrain.py: error: " in "\n" + result["stderr"]
    missing = osp.join(tool_results["work"], "nowhere")
    assert f"SyntheticWSSSDataset: data_root not found: {missing}" in result["stderr"]
