"""Every config has what mmseg's --tta, --show-dir and browse_dataset.py need."""

import glob
import os.path as osp

import pytest
from mmengine.config import Config

ROOT = osp.abspath(osp.join(osp.dirname(__file__), "../.."))
L2G = sorted(glob.glob(osp.join(ROOT, "configs/l2g/*.py")))
SYNTHETIC_SEG = sorted(glob.glob(osp.join(ROOT, "configs/deeplab/*synthetic*.py")))


def _tta_views(cfg: Config) -> list:
    """(scale, flip) of every TestTimeAug view."""
    (tta,) = [t for t in cfg.tta_pipeline if t["type"] == "TestTimeAug"]
    scales, flips = tta["transforms"][0], tta["transforms"][1]
    return [(s["scale_factor"], f["prob"]) for s in scales for f in flips]


@pytest.mark.parametrize("config", L2G, ids=osp.basename)
def test_l2g_config(config: str) -> None:
    cfg = Config.fromfile(config)
    assert cfg.tta_model.type == "L2GTTAModel"
    # The views are the model's test_cfg (the release's scales, each flipped), read by
    # L2GTTAModel itself: the pipeline loads the image at its own size, no resize or flip.
    assert tuple(cfg.model.test_cfg.scales) == (0.5, 1.0, 1.5, 2.0) and cfg.model.test_cfg.flip
    assert [t["type"] for t in cfg.tta_pipeline] == [
        cfg.test_pipeline[0]["type"],
        "LoadWSSSAnnotations",
        "PackL2GInputs",
    ]
    assert cfg.default_hooks.visualization.type == "SegVisualizationHook"
    assert cfg.visualizer.type == "L2GLocalVisualizer" and cfg.visualizer.name == "visualizer"


@pytest.mark.parametrize("config", SYNTHETIC_SEG, ids=osp.basename)
def test_synthetic_segmenter_config(config: str) -> None:
    cfg = Config.fromfile(config)
    assert cfg.tta_model.type == "SegTTAModel"
    assert len(_tta_views(cfg)) == 8
    groups = cfg.tta_pipeline[1]["transforms"][2:]
    assert [[t["type"] for t in group] for group in groups] == [
        ["LoadAnnotations"],
        ["PackSegInputs"],
    ]
