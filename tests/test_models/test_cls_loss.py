"""The config-built classification loss: the release's multi-label soft margin, weighted."""

import math
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmseg.registry import MODELS
from model_test_utils import fabricated_batch, tiny_l2g_cfg

from mmseg_l2g.models.losses import MultiLabelSoftMarginLoss

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), "configs")


@pytest.fixture(autouse=True)
def _scope() -> None:
    DefaultScope.get_instance("test_cls_loss", scope_name="mmseg")


def test_equals_the_hand_computed_soft_margin() -> None:
    scores = torch.tensor([[2.0, -1.0, 0.0], [0.5, 3.0, -2.0]])
    labels = torch.tensor([[1, 0, 1], [0, 1, 1]])  # integer labels are cast
    # mean over classes of -[y log s(x) + (1 - y) log(1 - s(x))], then over images
    softplus = lambda x: math.log1p(math.exp(x))  # noqa: E731  (-log sigmoid(-x))
    first = (softplus(-2.0) + softplus(-1.0) + softplus(0.0)) / 3
    second = (softplus(0.5) + softplus(-3.0) + softplus(2.0)) / 3
    expected = (first + second) / 2
    loss = MODELS.build(dict(type="MultiLabelSoftMarginLoss"))(scores, labels)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    assert loss.item() == pytest.approx(0.713822, abs=1e-6)  # (0.377779 + 1.049864) / 2
    torch.testing.assert_close(loss, F.multilabel_soft_margin_loss(scores, labels.float()))
    weighted = MultiLabelSoftMarginLoss(loss_weight=2.5)(scores, labels)
    assert weighted.item() == pytest.approx(2.5 * expected, rel=1e-6)
    with pytest.raises(ValueError, match="loss_weight"):
        MultiLabelSoftMarginLoss(loss_weight=-1.0)


def _loss_terms(**overrides):
    torch.manual_seed(0)
    model = MODELS.build(tiny_l2g_cfg(global_cls_weight=0.5, **overrides))
    model.init_weights()
    data = model.data_preprocessor(fabricated_batch(batch_size=2), training=True)
    with torch.no_grad():
        return model(**data, mode="loss")


def test_classifier_builds_it_from_config_and_its_weight_counts() -> None:
    default = _loss_terms()
    release = _loss_terms(loss_cls=dict(type="MultiLabelSoftMarginLoss"))
    tripled = _loss_terms(loss_cls=dict(type="MultiLabelSoftMarginLoss", loss_weight=3.0))
    for key in ("loss_cls_local", "loss_cls_global", "loss_at"):
        torch.testing.assert_close(release[key], default[key])
    assert default["loss_cls_local"].item() > 0.1
    torch.testing.assert_close(tripled["loss_cls_local"], 3 * default["loss_cls_local"])
    torch.testing.assert_close(tripled["loss_cls_global"], 3 * default["loss_cls_global"])
    torch.testing.assert_close(tripled["loss_at"], default["loss_at"])  # only the class terms


def test_the_model_configs_name_it() -> None:
    for name in ("l2g_plaincnn", "l2g_r50", "l2g_resnet38"):
        model = Config.fromfile(osp.join(CONFIGS, "_base_", "models", f"{name}.py")).model
        assert model.loss_cls == dict(type="MultiLabelSoftMarginLoss", loss_weight=1.0), name
