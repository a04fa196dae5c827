"""generate_pseudo_masks: outputs, scores, resuming, CAM files, failures, bad input."""

import dataclasses
import errno
import json
import os
import os.path as osp
import shutil
import threading

import numpy as np
import pytest
import torch
from PIL import Image

from mmseg_l2g.datasets.label_io import read_index_mask
from mmseg_l2g.evaluation import confusion_matrix, scores_from_confusion
from mmseg_l2g.io import load_cams_npz
from mmseg_l2g.models.classifiers.cam_readout import CAMReadoutConfig
from mmseg_l2g.models.postprocess import make_mask
from mmseg_l2g.stage2 import PseudoMaskSettings, generate_pseudo_masks


@pytest.fixture(autouse=True)
def _readout(tiny_model):
    """The tests' readout (the model's test_cfg): scales 0.5 and 1 with flip."""
    tiny_model.test_cfg = CAMReadoutConfig(scales=(0.5, 1.0), flip=True)


def settings(**kwargs):
    """Stage-2 settings of the tests."""
    kwargs.setdefault("num_vis", 2)
    return PseudoMaskSettings(**kwargs)


def readout(model, **changes):
    """The model with its test_cfg (stage 2's one readout) changed."""
    model.test_cfg = dataclasses.replace(model.test_cfg, **changes)
    return model


def snapshot(out_dir):
    files = {}
    for root, _, names in os.walk(out_dir):
        for name in names:
            path = osp.join(root, name)
            files[osp.relpath(path, out_dir)] = open(path, "rb").read()
    return files


def test_outputs_and_scores(tiny_model, tiny_dataset, tmp_path):
    out = str(tmp_path / "out")
    result = generate_pseudo_masks(tiny_model, tiny_dataset, out, settings(save_cams=True))
    assert result.num_processed == 5 and not result.failures
    files = snapshot(out)
    ids = [tiny_dataset.get_data_info(i)["img_id"] for i in range(5)]
    assert sorted(k for k in files if k.startswith("masks")) == [f"masks/{i}.png" for i in ids]
    assert sorted(k for k in files if k.startswith("vis")) == [f"vis/{i}.jpg" for i in ids[:2]]
    total = np.zeros((3 + 1, 3 + 2), dtype=np.int64)
    for index, img_id in enumerate(ids):
        info = tiny_dataset.get_data_info(index)
        mask = read_index_mask(osp.join(out, "masks", img_id + ".png"))
        cams, labels = load_cams_npz(osp.join(out, "cams", img_id + ".npz"))
        assert labels.tolist() == np.flatnonzero(info["gt_label"]).tolist()
        assert mask.shape == cams.shape[1:] == Image.open(info["img_path"]).size[::-1]
        # The mask is the threshold rule applied to the stored float16 CAMs.
        again, _, _ = make_mask(torch.from_numpy(cams), torch.from_numpy(labels), 0.25)
        assert np.array_equal(mask, again.numpy())
        assert set(np.unique(mask)) <= {0} | set((labels + 1).tolist())
        total += confusion_matrix(mask, read_index_mask(info["seg_map_path"]), 4)
    metrics = json.loads(files["metrics.json"])
    # The chosen threshold's scores equal those of the written masks.
    assert metrics["chosen_thr"] == 0.25
    assert metrics["chosen"]["miou"] == pytest.approx(100 * scores_from_confusion(total)["miou"])
    assert metrics["num_images"] == 5 and metrics["num_failed"] == 0
    assert [e["thr"] for e in metrics["sweep"]] == [round(0.05 * i, 6) for i in range(1, 11)]
    assert result.metrics["best_thr"] in [e["thr"] for e in metrics["sweep"]]


@pytest.mark.parametrize("save_cams", [True, False])
def test_resume_after_deleting_outputs_gives_identical_bytes(
    tiny_model, tiny_dataset, tmp_path, save_cams
):
    out = str(tmp_path / "out")
    generate_pseudo_masks(tiny_model, tiny_dataset, out, settings(save_cams=save_cams))
    before = snapshot(out)
    for name in ("masks/img_001.png", "masks/img_004.png", "vis/img_000.jpg", "metrics.json"):
        os.remove(osp.join(out, name))
    if save_cams:
        os.remove(osp.join(out, "cams", "img_004.npz"))
    result = generate_pseudo_masks(tiny_model, tiny_dataset, out, settings(save_cams=save_cams))
    assert snapshot(out) == before
    # Every image is scored again (from CAM files, or through the network without them).
    assert result.sweep.num_images == 5
    assert result.num_processed == 5
    assert result.num_written == 3 and result.num_complete == 2  # img_000, 001, 004 rewritten


def test_from_cams_equals_network(tiny_model, tiny_dataset, tmp_path):
    first = str(tmp_path / "first")
    generate_pseudo_masks(tiny_model, tiny_dataset, first, settings(save_cams=True, num_vis=0))
    second = str(tmp_path / "second")
    replay = settings(num_vis=0, cams_dir=osp.join(first, "cams"))
    generate_pseudo_masks(None, tiny_dataset, second, replay)
    a, b = snapshot(first), snapshot(second)
    for name in [k for k in a if k.startswith("masks")] + ["metrics.json"]:
        assert a[name] == b[name], name


def test_batching_and_saliency_mode(tiny_model, tiny_dataset, tmp_path):
    one = str(tmp_path / "one")
    many = str(tmp_path / "many")
    fused = dict(saliency="dataset", sal_thr=0.5, save_cams=True, num_vis=0)
    readout(tiny_model, bg_thr=0.6)
    generate_pseudo_masks(tiny_model, tiny_dataset, one, settings(batch_size=1, **fused))
    generate_pseudo_masks(tiny_model, tiny_dataset, many, settings(batch_size=5, **fused))
    assert snapshot(one) == snapshot(many)
    info = tiny_dataset.get_data_info(3)
    mask = read_index_mask(osp.join(one, "masks", "img_003.png"))
    cams, labels = load_cams_npz(osp.join(one, "cams", "img_003.npz"))
    saliency = np.asarray(Image.open(info["sal_path"]), dtype=np.float32) / 255.0
    score = cams.astype(np.float32).max(0)
    value = labels[cams.argmax(0)] + 1
    expected = np.where(saliency < 0.5, 0, np.where(score > 0.6, value, 255))
    assert np.array_equal(mask, expected)
    assert (mask == 255).any() and (mask == 0).any()
    metrics = json.load(open(osp.join(one, "metrics.json")))
    assert metrics["mode"] == "saliency_fused"
    assert metrics["chosen"]["ignored_ratio"] > 0


def test_failed_image_is_recorded_and_run_continues(tiny_model, tiny_dataset, tmp_path):
    broken = tiny_dataset.get_data_info(2)["img_path"]
    with open(broken, "wb") as f:
        f.write(b"not an image")
    bad_gt = tiny_dataset.get_data_info(4)["seg_map_path"]
    Image.fromarray(np.full((20, 24), 9, dtype=np.uint8), mode="L").save(bad_gt)
    out = str(tmp_path / "out")
    result = generate_pseudo_masks(tiny_model, tiny_dataset, out, settings())
    assert [img_id for img_id, _ in result.failures] == ["img_002", "img_004"]
    assert broken in result.failures[0][1]
    assert bad_gt in result.failures[1][1] and "[9]" in result.failures[1][1]
    assert sorted(os.listdir(osp.join(out, "masks"))) == [f"img_00{i}.png" for i in (0, 1, 3)]
    failed = json.load(open(osp.join(out, "failed.json")))
    assert [entry["img_id"] for entry in failed] == ["img_002", "img_004"]
    metrics = json.load(open(osp.join(out, "metrics.json")))
    assert metrics["num_images"] == 3 and metrics["num_failed"] == 2
    # Fixed inputs: a rerun completes and removes the stale failure list.
    Image.fromarray(np.zeros((20, 24), dtype=np.uint8), mode="L").save(bad_gt)
    shutil.copy(tiny_dataset.get_data_info(0)["img_path"], broken)
    assert not generate_pseudo_masks(tiny_model, tiny_dataset, out, settings()).failures
    assert not osp.exists(osp.join(out, "failed.json"))
    assert len(os.listdir(osp.join(out, "masks"))) == 5


def test_bad_output_folder_and_changed_settings(tiny_model, tiny_dataset, tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(NotADirectoryError, match="is a file"):
        generate_pseudo_masks(tiny_model, tiny_dataset, str(a_file), settings())
    out = str(tmp_path / "out")
    generate_pseudo_masks(tiny_model, tiny_dataset, out, settings(num_vis=0))
    with pytest.raises(ValueError, match="bg_thr"):
        generate_pseudo_masks(
            readout(tiny_model, bg_thr=0.3), tiny_dataset, out, settings(num_vis=0)
        )
    generate_pseudo_masks(tiny_model, tiny_dataset, out, settings(num_vis=0, overwrite=True))
    assert json.load(open(osp.join(out, "metrics.json")))["chosen_thr"] == 0.3
    with pytest.raises(ValueError, match="bg_thr"):
        CAMReadoutConfig(bg_thr=1.5)


def test_the_readout_is_the_models_test_cfg_only(tiny_model, tiny_dataset):
    with pytest.raises(ValueError, match="reads the model's test_cfg, not a 'readout' setting"):
        PseudoMaskSettings.build(dict(readout=dict(bg_thr=0.3)))
    with pytest.raises(ValueError, match="only given without a model"):
        generate_pseudo_masks(
            tiny_model, tiny_dataset, None, settings(), readout=CAMReadoutConfig()
        )


def test_scoring_only_run_writes_nothing(tiny_model, tiny_dataset, tmp_path):
    result = generate_pseudo_masks(tiny_model, tiny_dataset, None, settings(), indices=[0, 3])
    assert result.sweep.num_images == 2 and result.num_processed == 2
    assert tiny_model.training is False


def test_crf_refines_each_written_mask_from_its_image(tiny_model, tiny_dataset, tmp_path):
    from mmseg_l2g.models.postprocess.dense_crf import crf_refine_labels

    plain, refined = str(tmp_path / "plain"), str(tmp_path / "crf")
    generate_pseudo_masks(tiny_model, tiny_dataset, plain, settings(num_vis=0))
    result = generate_pseudo_masks(
        readout(tiny_model, crf=dict(iters=5)), tiny_dataset, refined, settings(num_vis=0)
    )
    assert result.num_processed == 5 and not result.failures
    changed = 0
    for index in range(5):
        info = tiny_dataset.get_data_info(index)
        before = read_index_mask(osp.join(plain, "masks", info["img_id"] + ".png"))
        after = read_index_mask(osp.join(refined, "masks", info["img_id"] + ".png"))
        rgb = np.array(Image.open(info["img_path"]).convert("RGB"))
        expected = crf_refine_labels(rgb, before, 4, keep_ignore=True, iters=5)
        assert np.array_equal(after, expected)
        changed += int((after != before).sum())
    assert changed > 0  # the CRF did something on these images
    settings_json = json.loads(open(osp.join(refined, "settings.json")).read())
    assert settings_json["crf"] == {"iters": 5}


def test_writer_and_prefetch_threads_give_the_same_bytes(tiny_model, tiny_dataset, tmp_path):
    outputs = {}
    for threads in (0, 2):
        out = str(tmp_path / f"threads_{threads}")
        options = dict(save_cams=True, num_vis=3, batch_size=2)
        options.update(writer_threads=threads, prefetch_batches=threads)
        result = generate_pseudo_masks(tiny_model, tiny_dataset, out, settings(**options))
        assert result.num_processed == 5
        outputs[threads] = snapshot(out)
    assert len([name for name in outputs[2] if name.startswith("vis/")]) == 3
    assert outputs[2] == outputs[0]
    assert not [t for t in threading.enumerate() if t.name.startswith("l2g-")]


@pytest.mark.parametrize("threads", [0, 2])
def test_failed_write_propagates_naming_the_file(
    tiny_model, tiny_dataset, tmp_path, monkeypatch, threads
):
    from mmseg_l2g.stage2 import outputs

    real_save = outputs.save_palette_png

    def disk_full_at_third_mask(path, mask, palette):
        if path.endswith("img_002.png"):
            raise OSError(errno.ENOSPC, f"cannot write {path}: No space left on device")
        real_save(path, mask, palette)

    monkeypatch.setattr(outputs, "save_palette_png", disk_full_at_third_mask)
    out = str(tmp_path / "out")
    tiny_model.train()
    options = dict(save_cams=True, batch_size=2, writer_threads=threads, prefetch_batches=threads)
    with pytest.raises(OSError, match="No space left on device") as error:
        generate_pseudo_masks(tiny_model, tiny_dataset, out, settings(**options))
    assert osp.join(out, "masks", "img_002.png") in str(error.value)
    # Every write had finished when the error came out: no thread, no temp file left.
    assert not [t for t in threading.enumerate() if t.name.startswith("l2g-")]
    assert sorted(os.listdir(osp.join(out, "masks"))) == ["img_000.png", "img_001.png"]
    assert not [name for name in snapshot(out) if osp.basename(name).startswith(".")]
    assert not osp.exists(osp.join(out, "metrics.json"))
    assert tiny_model.training
