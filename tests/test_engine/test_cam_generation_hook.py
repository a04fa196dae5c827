"""CAMGenerationHook: schedule, logged scores and full generation, in and out of a Runner."""

import json
import os
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub, MMLogger
from mmengine.runner import Runner

from mmseg_l2g.apis import build_cam_model, load_config
from mmseg_l2g.datasets.builders import (
    build_stage2_dataset,
    dataset_config,
    spread_indices_with_masks,
)
from mmseg_l2g.datasets.synthetic import make_synthetic
from mmseg_l2g.engine.hooks import CAMGenerationHook
from mmseg_l2g.stage2 import generate_pseudo_masks

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, "configs", "l2g", "l2g_plaincnn_1xb8-600it_synthetic-128.py")


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("hook") / "data")
    make_synthetic(root, 6, 2, seed=1, size=48, num_workers=1, progress=False)
    return root


class RecordingVisualizer:
    def __init__(self):
        self.calls = []

    def add_scalars(self, scalars, step=0):
        self.calls.append((step, dict(scalars)))


def fake_runner(model, dataset, work_dir, name):
    return SimpleNamespace(
        model=model,
        train_dataloader=SimpleNamespace(dataset=dataset),
        message_hub=MessageHub.get_instance(name),
        visualizer=RecordingVisualizer(),
        logger=MMLogger.get_current_instance(),
        work_dir=work_dir,
        iter=0,
        epoch=0,
    )


def test_default_runs_once_after_training_and_logs_the_sweep(data_root, tmp_path):
    options = {"train_dataloader.dataset.data_root": data_root, "model.test_cfg.scales": (1.0,)}
    cfg = load_config(CONFIG, options)
    torch.manual_seed(0)
    model = build_cam_model(cfg, None)
    dataset = build_stage2_dataset(dataset_config(cfg, "train"))
    settings = dict(sweep=(0.1, 0.3, 0.5))
    hook = CAMGenerationHook(num_images=4, settings=settings)
    runner = fake_runner(model, dataset, str(tmp_path), "hook_default")
    for it in range(3):
        runner.iter = it
        hook.after_train_iter(runner, it)
    assert runner.visualizer.calls == []  # no interval: nothing during training
    runner.iter = 3
    hook.after_train(runner)
    assert len(runner.visualizer.calls) == 1
    step, scalars = runner.visualizer.calls[0]
    # The same settings through the API directly give the logged numbers.
    indices = spread_indices_with_masks(dataset, 4)
    direct = generate_pseudo_masks(model, dataset, None, settings, indices, progress=False)
    assert step == 3 and len(indices) == 4
    assert scalars["pseudo_miou"] == pytest.approx(direct.metrics["best_miou"])
    assert scalars["pseudo_best_thr"] == direct.metrics["best_thr"]
    assert runner.message_hub.get_scalar("pseudo_miou").current() == scalars["pseudo_miou"]
    assert not osp.exists(osp.join(str(tmp_path), "pseudo_masks"))


def test_a_readout_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="reads the model's test_cfg"):
        CAMGenerationHook(settings=dict(readout=dict(scales=(1.0,))))


def test_interval_in_iterations(data_root, tmp_path):
    options = {"model.test_cfg.scales": (1.0,), "model.test_cfg.flip": False}
    cfg = load_config(CONFIG, {"train_dataloader.dataset.data_root": data_root, **options})
    model = build_cam_model(cfg, None)
    dataset = build_stage2_dataset(dataset_config(cfg, "train"))
    hook = CAMGenerationHook(interval=2, by_epoch=False, num_images=2)
    runner = fake_runner(model, dataset, str(tmp_path), "hook_interval")
    for it in range(4):  # iterations 1..4 finish; runs after 2 and 4
        runner.iter = it
        hook.after_train_iter(runner, it)
    runner.iter = 4
    hook.after_train(runner)  # already ran at iteration 4: not again
    assert [step for step, _ in runner.visualizer.calls] == [2, 4]


def test_in_a_runner_with_full_generation(data_root, tmp_path):
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = str(tmp_path / "work")
    cfg.train_dataloader.dataset.data_root = data_root
    cfg.train_dataloader.update(batch_size=2, num_workers=0, persistent_workers=False)
    cfg.train_cfg = dict(type="IterBasedTrainLoop", max_iters=2)
    cfg.param_scheduler = []
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.default_hooks.checkpoint = None
    cfg.model.test_cfg.scales = (1.0,)  # the hook's readout is the model's
    cfg.custom_hooks = [
        dict(type="CAMGenerationHook", save_masks=True, settings=dict(sweep=(0.2, 0.4)))
    ]
    runner = Runner.from_cfg(cfg)
    runner.train()
    out = osp.join(cfg.work_dir, "pseudo_masks")
    assert sorted(os.listdir(osp.join(out, "masks"))) == [f"train_{i:06d}.png" for i in range(6)]
    metrics = json.load(open(osp.join(out, "metrics.json")))
    assert metrics["num_images"] == 6
    logged = runner.message_hub.get_scalar("pseudo_miou").current()
    assert logged == pytest.approx(metrics["best_miou"])
    scalars_files = [
        osp.join(root, name)
        for root, _, names in os.walk(cfg.work_dir)
        for name in names
        if name == "scalars.json"
    ]
    assert scalars_files
    lines = [json.loads(line) for line in open(scalars_files[0])]
    assert any(line.get("pseudo_miou") == pytest.approx(logged) for line in lines)
    # The overlays reached the visualizer's backend (here the local one), one per vis file.
    overlays = sorted(os.listdir(osp.join(out, "vis")))
    sent = [
        name
        for _, _, names in os.walk(cfg.work_dir)
        for name in names
        if name.startswith("cam_overlay_") and name.endswith("_2.png")
    ]
    assert overlays and sorted(sent) == [f"cam_overlay_{n[:-4]}_2.png" for n in overlays]


def test_bad_settings_fail_when_the_hook_is_built():
    with pytest.raises(ValueError, match="unknown stage-2 settings"):
        CAMGenerationHook(settings=dict(scales=(1.0,)))
