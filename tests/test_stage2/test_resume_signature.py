"""Every field of stage 2's resume signature: changing it alone refuses the rerun.

A field dropped from the signature (``PseudoMaskSettings.signature``,
``dataset_identity`` or a caller's ``signature_extra``) would let a rerun keep
masks made another way; each case here changes one field and expects the
refusal naming it, with every file left as it was. A last test checks that the
cases cover every field ``settings.json`` records.
"""

import json
import os
import os.path as osp

import pytest

from mmseg_l2g.models.classifiers.cam_readout import CAMReadoutConfig
from mmseg_l2g.stage2 import PseudoMaskSettings, generate_pseudo_masks

BASE_READOUT = dict(scales=(0.5, 1.0), flip=True, interp="bicubic", fp16=False, bg_thr=0.25)
EXTRA = dict(checkpoint=dict(path="/w/iter_8.pth", sha256="a" * 64))


def run(model, dataset, out, readout=None, indices=None, extra=None, **fields):
    """One stage-2 run of the tiny dataset in the fused mode (every field recorded).

    ``readout`` changes the model's ``test_cfg`` (stage 2's one readout).
    """
    fields.setdefault("saliency", "dataset")
    fields.setdefault("sal_thr", 0.5)
    settings = PseudoMaskSettings(num_vis=0, **fields)
    model.test_cfg = CAMReadoutConfig.from_cfg(dict(BASE_READOUT, **(readout or {})))
    return generate_pseudo_masks(
        model, dataset, out, settings, indices, signature_extra=extra or EXTRA, progress=False
    )


def files(folder):
    """Every file's bytes under ``folder``."""
    found = {}
    for root, _, names in os.walk(folder):
        for name in names:
            with open(osp.join(root, name), "rb") as f:
                found[osp.relpath(osp.join(root, name), folder)] = f.read()
    return found


# field (as settings.json names it) -> what the rerun changes
CASES = {
    "cam.scales": dict(readout=dict(scales=(1.0,))),
    "cam.flip": dict(readout=dict(flip=False)),
    "cam.interp": dict(readout=dict(interp="bilinear")),
    # float16 runs on CUDA only: a folder recorded by a CUDA run with fp16, rerun here.
    "cam.fp16": dict(recorded=("cam", "fp16", True)),
    "cam.score": dict(readout=dict(score="softmax")),
    "cam (from a CAM folder)": dict(cams_dir="CAMS"),
    "bg_thr": dict(readout=dict(bg_thr=0.3)),
    "saliency": dict(saliency="SALIENCY"),
    "sal_thr": dict(sal_thr=0.6),
    "crf": dict(readout=dict(crf=dict(iters=3))),
    "dataset.data_root": dict(dataset_attr=("data_root", "other_root")),
    "dataset.ann_file": dict(dataset_attr=("ann_file", "other_split.txt")),
    "dataset.num_images": dict(indices=[0, 1, 2, 3]),
    "dataset.ids_sha256": dict(indices=[1, 0, 2, 3, 4]),
    "checkpoint.path": dict(extra=dict(checkpoint=dict(path="/v/iter_8.pth", sha256="a" * 64))),
    "checkpoint.sha256": dict(extra=dict(checkpoint=dict(path="/w/iter_8.pth", sha256="b" * 64))),
}


@pytest.mark.parametrize("field", list(CASES))
def test_changing_one_field_refuses_the_rerun(tiny_model, tiny_dataset, tmp_path, field):
    tiny_dataset.data_root, tiny_dataset.ann_file = str(tmp_path / "data"), "train.txt"
    out = str(tmp_path / "out")
    run(tiny_model, tiny_dataset, out)
    change = dict(CASES[field])
    if "recorded" in change:  # the folder was made elsewhere (e.g. fp16 on a GPU)
        group, name, value = change.pop("recorded")
        path = osp.join(out, "settings.json")
        with open(path, encoding="utf-8") as f:
            recorded = json.load(f)
        recorded[group][name] = value
        with open(path, "w", encoding="utf-8") as f:
            json.dump(recorded, f)
    before = files(out)
    if "dataset_attr" in change:
        setattr(tiny_dataset, *change.pop("dataset_attr"))
    for key, folder in (("cams_dir", "CAMS"), ("saliency", "SALIENCY")):
        if change.get(key) == folder:  # an existing folder outside the output
            change[key] = str(tmp_path / folder.lower())
            os.makedirs(change[key])
    key = field.split(".")[0].split(" ")[0]
    with pytest.raises(ValueError, match=rf"holds outputs made with other settings \({key}"):
        run(tiny_model, tiny_dataset, out, **change)
    assert files(out) == before


def test_the_cases_cover_every_recorded_field(tiny_model, tiny_dataset, tmp_path):
    tiny_dataset.data_root, tiny_dataset.ann_file = str(tmp_path / "data"), "train.txt"
    out = str(tmp_path / "out")
    run(tiny_model, tiny_dataset, out, readout=dict(score="softmax"))
    with open(osp.join(out, "settings.json"), encoding="utf-8") as f:
        recorded = json.load(f)
    fields = set()
    for key, value in recorded.items():
        fields |= {f"{key}.{sub}" for sub in value} if isinstance(value, dict) else {key}
    assert fields == {field for field in CASES if " " not in field}


def test_fp16_asked_for_on_the_cpu_is_recorded_as_what_ran(tiny_model, tiny_dataset, tmp_path):
    tiny_dataset.data_root, tiny_dataset.ann_file = str(tmp_path / "data"), "train.txt"
    out = str(tmp_path / "out")
    run(tiny_model, tiny_dataset, out, readout=dict(fp16=True))  # on the CPU: float32 runs
    with open(osp.join(out, "settings.json"), encoding="utf-8") as f:
        assert json.load(f)["cam"]["fp16"] is False
    assert tiny_model.test_cfg.fp16 is True  # the model's own test_cfg is left as it is
    run(tiny_model, tiny_dataset, out)  # the same float32 masks: the rerun resumes
