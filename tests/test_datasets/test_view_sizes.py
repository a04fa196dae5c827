"""set_view_sizes: the view sizes of a release pipeline config, changed in place."""

import os.path as osp

from mmengine.config import Config

from mmseg_l2g.datasets.view_sizes import set_view_sizes

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), "configs")


def test_release_pipeline_gets_the_new_sizes() -> None:
    cfg = Config.fromfile(osp.join(CONFIGS, "l2g", "l2g-sal_resnet38_1xb3-10e_voc12aug-448.py"))
    train = cfg.train_dataloader.dataset.pipeline
    before = [step.to_dict() for step in train]
    set_view_sizes(train, 64, 48)
    steps = {step["type"]: step for step in train}
    assert steps["ResizeWithSaliency"].scale == (512, 64)  # short side 64, long side capped 8x
    assert steps["RandomCrop"].crop_size == (64, 64)
    assert steps["PadWithSaliency"].size == (64, 64)
    assert steps["LocalCropTransform"].crop_size == 48
    assert steps["LocalCropTransform"].num_views == 6  # only the sizes change
    changed = [a["type"] for a, b in zip(before, train) if a != b.to_dict()]
    assert changed == ["ResizeWithSaliency", "RandomCrop", "PadWithSaliency", "LocalCropTransform"]
    test = cfg.test_dataloader.dataset.pipeline
    set_view_sizes(test, 64, 48)
    assert [s.scale for s in test if s.type == "ResizeWithSaliency"] == [(64, 64)]  # squashed
