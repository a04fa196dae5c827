"""L2GClassifier: loss terms, gradient flow, prediction and the CAM baseline."""

import os

import pytest
import torch
import torch.nn.functional as F
from mmengine.optim import OptimWrapper
from mmengine.registry import DefaultScope
from mmseg.registry import MODELS
from model_test_utils import fabricated_batch, tiny_l2g_cfg


@pytest.fixture(autouse=True)
def _scope() -> None:
    DefaultScope.get_instance("test_l2g_classifier", scope_name="mmseg")


def _build(**overrides):
    model = MODELS.build(tiny_l2g_cfg(**overrides))
    model.init_weights()
    return model


def _losses(model, batch):
    data = model.data_preprocessor(batch, training=True)
    return model(**data, mode="loss"), data


def test_loss_terms_and_their_values() -> None:
    model = _build(global_cls_weight=0.5)
    batch = fabricated_batch(batch_size=2, saliency=[True, False])
    losses, data = _losses(model, batch)
    assert set(losses) == {"loss_cls_global", "loss_cls_local", "loss_at", "loss_st"}
    # Recompute every term from the parts, as the docstring defines them.
    inputs, local = data["inputs"], data["local_inputs"]
    labels = torch.stack([s.gt_label for s in batch["data_samples"]])
    g = model.extract_cam_logits(inputs)
    loc = model.extract_local_logits(local)
    cls_local = F.multilabel_soft_margin_loss(
        loc[:, :3].mean((2, 3)), labels.repeat_interleave(3, 0)
    )
    cls_global = F.multilabel_soft_margin_loss(g[:, :3].mean((2, 3)), labels)
    boxes = torch.cat([s.local_boxes for s in batch["data_samples"]])
    sal = batch["data_samples"][0].local_saliency
    st = model.loss_shape(g[:1], loc[:3], boxes[:3], labels[:1], sal)
    at = model.loss_transfer(g[1:], loc[3:], boxes[3:], labels[1:])
    torch.testing.assert_close(losses["loss_cls_local"], cls_local)
    torch.testing.assert_close(losses["loss_cls_global"], 0.5 * cls_global)
    torch.testing.assert_close(losses["loss_st"], 0.5 * st)  # 1 of 2 images has saliency
    torch.testing.assert_close(losses["loss_at"], 0.5 * at)


def test_without_saliency_shape_term_is_zero() -> None:
    losses, _ = _losses(_build(), fabricated_batch(saliency=[False, False]))
    assert losses["loss_st"].item() == 0.0 and losses["loss_at"].item() > 0


def test_transfer_loss_trains_global_only_and_cls_trains_local() -> None:
    model = _build()
    losses, _ = _losses(model, fabricated_batch())
    losses["loss_at"].backward(retain_graph=True)
    assert model.global_head.conv_cam.weight.grad.abs().sum() > 0
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in model.local_backbone.parameters())
    assert model.local_head.conv_cam.weight.grad is None
    model.zero_grad(set_to_none=True)
    losses["loss_cls_local"].backward()
    assert model.local_head.conv_cam.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.global_backbone.parameters())


def test_share_weights_uses_one_network() -> None:
    model = _build(share_weights=True)
    assert model.local_backbone is model.global_backbone
    assert model.local_head is model.global_head


def test_cam_baseline_has_only_global_classification() -> None:
    model = _build(with_local=False, global_cls_weight=1.0)
    assert not hasattr(model, "local_backbone")
    losses, _ = _losses(model, fabricated_batch())
    assert set(losses) == {"loss_cls_global"}
    with pytest.raises(ValueError, match="trains nothing"):
        _build(with_local=False)


def test_train_step_lowers_the_loss() -> None:
    model = _build()
    batch = fabricated_batch(batch_size=2, saliency=[True, False])
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9))
    first = model.train_step(batch, optim)["loss"].item()
    for _ in range(4):
        last = model.train_step(batch, optim)["loss"].item()
    assert last < first


def test_predict_cams_and_thresholded_mask() -> None:
    model = _build(test_cfg=dict(bg_thr=0.3, scales=(1.0, 0.5))).eval()
    batch = fabricated_batch(batch_size=2)
    with torch.no_grad():
        samples = model.val_step(batch)
    for sample in samples:
        cams, mask = sample.pred_cam.data, sample.pred_sem_seg.data
        assert tuple(cams.shape) == (3, 64, 64) and tuple(mask.shape) == (1, 64, 64)
        absent = sample.gt_label == 0
        assert cams[absent].abs().sum() == 0
        assert cams.max() <= 1.0 + 1e-6 and cams.min() >= 0
        # Mask rule: background where every class map (rounded to float16, as the
        # CAM files store them) is not above the threshold.
        expected = torch.cat([torch.full_like(cams[:1], 0.3), cams.half().float()]).argmax(0)
        torch.testing.assert_close(mask[0], expected)
        assert set(mask.unique().tolist()) <= {0} | {i + 1 for i in range(3) if not absent[i]}


def test_nan_loss_stops_before_the_update() -> None:
    model = _build()
    batch = fabricated_batch()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.05))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.loss_transfer.loss_weight = float("nan")
    with pytest.raises(FloatingPointError, match="loss term 'loss_at' is nan"):
        model.train_step(batch, optim)
    for key, value in model.state_dict().items():
        if value.dtype.is_floating_point and "running" not in key:
            torch.testing.assert_close(value, before[key], msg=key)


def test_train_step_on_a_synthetic_batch_lowers_the_loss(tmp_path) -> None:
    from mmengine.config import Config
    from mmengine.dataset import pseudo_collate
    from mmseg.registry import DATASETS

    from mmseg_l2g.datasets.synthetic import make_synthetic

    root = str(tmp_path / "synthetic")
    make_synthetic(root, num_train=4, num_val=1, seed=0, size=128, progress=False)
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    cfg = Config.fromfile(f"{repo}/configs/l2g/l2g-sal_plaincnn_1xb8-600it_synthetic-128.py")
    cfg.train_dataloader.dataset.data_root = root
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    batch = pseudo_collate([dataset[i] for i in range(4)])
    assert all(s.metainfo["has_saliency"] for s in batch["data_samples"])
    model = MODELS.build(cfg.model)
    model.init_weights()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9))
    losses = [model.train_step(batch, optim) for _ in range(6)]
    assert losses[0]["loss_st"] > 0 and losses[0]["loss_at"] == 0  # every image has saliency
    assert losses[-1]["loss"] < losses[0]["loss"]
