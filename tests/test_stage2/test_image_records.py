"""The three per-image records of stage 2: a frozen plan, what was loaded, the result."""

import dataclasses

import numpy as np
import pytest
import torch

from mmseg_l2g.io import save_cams_npz
from mmseg_l2g.stage2 import PseudoMaskSettings
from mmseg_l2g.stage2.loading import ImageLoader
from mmseg_l2g.stage2.planning import ImagePlan, plan_images


def _plans(dataset, out_dir, **settings):
    built = PseudoMaskSettings.build(dict(batch_size=2, **settings))
    return plan_images(dataset, range(len(dataset)), out_dir, built, evaluate=True)[0], built


def test_a_plan_is_frozen_and_names_its_outputs(tiny_dataset, tmp_path):
    plans, _ = _plans(tiny_dataset, str(tmp_path / "out"), num_vis=1)
    assert [p.position for p in plans] == list(range(len(tiny_dataset)))
    first = plans[0]
    assert first.mask_out == str(tmp_path / "out" / "masks" / "img_000.png")
    assert first.vis_out is not None and plans[1].vis_out is None  # num_vis=1
    assert first.cams_path is None and first.needs_image and first.evaluate
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.mask_out = None


def test_loading_returns_a_new_record_and_leaves_the_plan_as_it_was(tiny_dataset, tmp_path):
    plans, settings = _plans(tiny_dataset, str(tmp_path / "out"))
    fields = [f.name for f in dataclasses.fields(ImagePlan) if f.name != "info"]
    before = {name: getattr(plans[0], name) for name in fields}
    loaded = ImageLoader(plans, settings, num_classes=4)[0]
    assert loaded.plan is plans[0]
    assert {name: getattr(plans[0], name) for name in fields} == before
    assert loaded.error is None and loaded.cams is None  # CAMs come from the network
    assert loaded.img.dtype == np.uint8 and loaded.img.shape == (20, 24, 3)
    assert loaded.gt.shape == (20, 24) and loaded.sal is None


def test_cams_from_a_file_load_as_float16_tensors(tiny_dataset, tmp_path):
    cams_dir = tmp_path / "cams_in"
    cams_dir.mkdir()
    cams = np.random.default_rng(0).random((2, 20, 24)).astype(np.float16)
    save_cams_npz(str(cams_dir / "img_000.npz"), cams, np.array([0, 1]))
    plans, settings = _plans(tiny_dataset, None, cams_dir=str(cams_dir))
    loaded = ImageLoader(plans, settings, num_classes=4)[0]
    assert loaded.cams.dtype == torch.float16 and torch.equal(loaded.cams, torch.from_numpy(cams))
    assert loaded.classes.dtype == torch.int64 and loaded.classes.tolist() == [0, 1]
    assert loaded.img is None  # no network, no overlay, no CRF: the image is not read
    missing = ImageLoader(plans, settings, num_classes=4)[1]  # no CAM file for img_001
    assert missing.error.startswith("FileNotFoundError") and "img_001.npz" in missing.error
    assert missing.img is None and missing.cams is None and missing.plan is plans[1]


def test_an_unreadable_image_gives_an_error_record(tiny_dataset, tmp_path):
    with open(tiny_dataset.items[0]["img_path"], "wb") as f:
        f.write(b"not an image")
    plans, settings = _plans(tiny_dataset, str(tmp_path / "out"))
    loaded = ImageLoader(plans, settings, num_classes=4)[0]
    assert loaded.error is not None and "img_000.jpg" in loaded.error
    assert loaded.img is None and loaded.gt is None
