"""Tests of the L2G transfer losses (AttentionTransferLoss, ShapeTransferLoss)."""

import math

import pytest
import torch
from mmseg.registry import MODELS

from mmseg_l2g.models.losses import AttentionTransferLoss, ShapeTransferLoss

EPS = 1e-8  # added to each channel's max by the local target


# ---------------------------------------------------------------------------
# Hand-computed values
# ---------------------------------------------------------------------------


def _constant_global_logits(probs, size=4):
    """(1, K, size, size) logits whose softmax is ``probs`` at every pixel."""
    logits = torch.tensor([math.log(p) for p in probs], dtype=torch.float64)
    return logits[None, :, None, None].expand(1, len(probs), size, size).clone()


def _hand_local_logits():
    """(1, 3, 2, 2) local logits: class 0, class 1 (absent from the label), background."""
    class0 = [[2.0, -1.0], [1.0, 0.0]]  # ReLU / max 2 -> [[1, 0], [.5, 0]]
    class1 = [[4.0, 4.0], [4.0, 4.0]]  # would win everywhere, but the class is absent
    background = [[1.0, 2.0], [1.0, 0.001]]  # ReLU / max 2 -> [[.5, 1], [.5, .0005]]
    return torch.tensor([[class0, class1, background]], dtype=torch.float64)


def test_attention_loss_hand_computed():
    # G: softmax of constant logits log(1), log(2), log(1) = (0.25, 0.5, 0.25) at
    # every pixel; bilinear RoIAlign of a constant map is that constant.
    global_logits = _constant_global_logits([0.25, 0.5, 0.25])
    boxes = torch.tensor([[0.0, 0.0, 16.0, 16.0]], dtype=torch.float64)  # stride 8: 2x2 cells
    labels = torch.tensor([[1.0, 0.0]], dtype=torch.float64)  # class 1 absent
    loss = AttentionTransferLoss()(global_logits, _hand_local_logits(), boxes, labels)

    d = 2 + EPS  # both kept channels have max 2
    # T after zeroing class 1 and winner-take-all:
    #   (0,0): class0 2/d beats bg 1/d          -> [2/d, 0, 0]
    #   (0,1): class0 0, bg 2/d                 -> [0, 0, 2/d]
    #   (1,0): class0 1/d ties bg 1/d, first wins -> [1/d, 0, 0]
    #   (1,1): class0 0, bg 0.001/d             -> [0, 0, 0.001/d]
    class0 = (0.25 - 2 / d) ** 2 + 0.25**2 + (0.25 - 1 / d) ** 2 + 0.25**2
    class1 = 4 * 0.5**2
    background = 0.25**2 + (0.25 - 2 / d) ** 2 + 0.25**2 + (0.25 - 0.001 / d) ** 2
    expected = 10.0 * (class0 + class1 + background) / 12
    assert loss.item() == pytest.approx(expected, rel=1e-12)


def test_attention_loss_background_never_zeroed():
    # No class present: both class channels are zeroed, background stays.
    global_logits = _constant_global_logits([0.25, 0.5, 0.25])
    boxes = torch.tensor([[0.0, 0.0, 16.0, 16.0]], dtype=torch.float64)
    labels = torch.zeros(1, 2, dtype=torch.float64)
    loss = AttentionTransferLoss(loss_weight=1.0)(
        global_logits, _hand_local_logits(), boxes, labels
    )
    d = 2 + EPS
    # T: background channel [[1/d, 2/d], [1/d, 0.001/d]], class channels 0.
    class0 = 4 * 0.25**2
    class1 = 4 * 0.5**2
    background = sum((0.25 - v / d) ** 2 for v in (1.0, 2.0, 1.0, 0.001))
    assert loss.item() == pytest.approx((class0 + class1 + background) / 12, rel=1e-12)


def test_attention_loss_roi_align_picks_box_pixels():
    # feat_stride 1, box [0.5, 0.5, 2.5, 2.5] on a 4x4 map, 2x2 output, aligned=False:
    # bin size 1, one sample per bin at 0.5 + p + 0.5 = 1, 2: exactly pixels 1..2.
    foreground = torch.full((4, 4), 100.0, dtype=torch.float64)  # pixels outside the box
    foreground[1, 1] = 0.0  # softmax([0, 0])        -> 0.5
    foreground[1, 2] = math.log(3)  # softmax([ln 3, 0]) -> 0.75
    foreground[2, 1] = -math.log(3)  # softmax([-ln 3, 0]) -> 0.25
    foreground[2, 2] = math.log(9)  # softmax([ln 9, 0]) -> 0.9
    global_logits = torch.stack([foreground, torch.zeros(4, 4, dtype=torch.float64)])[None]
    local_logits = torch.tensor(
        [[[[1.0, 0.0], [0.0, 0.0]], [[0.0, 1.0], [1.0, 0.0]]]], dtype=torch.float64
    )
    boxes = torch.tensor([[0.5, 0.5, 2.5, 2.5]], dtype=torch.float64)
    labels = torch.ones(1, 1, dtype=torch.float64)
    loss = AttentionTransferLoss(loss_weight=2.0, feat_stride=1)(
        global_logits, local_logits, boxes, labels
    )
    t = 1 / (1 + EPS)
    # T class: [[t, 0], [0, 0]]; T background: [[0, t], [t, 0]] ((1,1): all 0).
    # G class: [[.5, .75], [.25, .9]]; G background = 1 - G class.
    class_sq = (0.5 - t) ** 2 + 0.75**2 + 0.25**2 + 0.9**2
    background_sq = 0.5**2 + (0.25 - t) ** 2 + (0.75 - t) ** 2 + 0.1**2
    assert loss.item() == pytest.approx(2.0 * (class_sq + background_sq) / 8, rel=1e-12)


def _hand_saliency():
    """(1, 1, 4, 4) saliency; nearest resize to 2x2 reads rows/columns 0 and 2."""
    saliency = torch.full((1, 1, 4, 4), 0.9, dtype=torch.float64)  # junk, never read
    saliency[0, 0, 0, 0] = 1.0
    saliency[0, 0, 0, 2] = 0.5
    saliency[0, 0, 2, 0] = 0.0
    saliency[0, 0, 2, 2] = 0.25
    return saliency  # resized: [[1, .5], [0, .25]]


def test_shape_loss_hand_computed():
    global_logits = _constant_global_logits([0.25, 0.5, 0.25])
    boxes = torch.tensor([[0.0, 0.0, 16.0, 16.0]], dtype=torch.float64)
    labels = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    loss = ShapeTransferLoss()(global_logits, _hand_local_logits(), boxes, labels, _hand_saliency())
    # T as in test_attention_loss_hand_computed; mask T > 0.001 (0.001/d is below):
    #   class0 mask [[1, 0], [1, 0]], class1 mask 0, background mask [[0, 1], [0, 0]].
    # Targets: class0 = mask * S = [[1, 0], [0, 0]]; class1 = 0;
    #          background = mask * (1 - S) = [[0, .5], [0, 0]].
    class0 = (0.25 - 1.0) ** 2 + 3 * 0.25**2
    class1 = 4 * 0.5**2
    background = 3 * 0.25**2 + (0.25 - 0.5) ** 2
    assert loss.item() == pytest.approx(10.0 * (class0 + class1 + background) / 12, rel=1e-12)


def test_shape_loss_threshold():
    # With threshold 1e-4 the background pixel (1,1) (T = 0.001/d) joins the mask:
    # its target becomes 1 - S = 0.75.
    global_logits = _constant_global_logits([0.25, 0.5, 0.25])
    boxes = torch.tensor([[0.0, 0.0, 16.0, 16.0]], dtype=torch.float64)
    labels = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    loss = ShapeTransferLoss(threshold=1e-4)(
        global_logits, _hand_local_logits(), boxes, labels, _hand_saliency()
    )
    class0 = (0.25 - 1.0) ** 2 + 3 * 0.25**2
    class1 = 4 * 0.5**2
    background = 2 * 0.25**2 + (0.25 - 0.5) ** 2 + (0.25 - 0.75) ** 2
    assert loss.item() == pytest.approx(10.0 * (class0 + class1 + background) / 12, rel=1e-12)


# ---------------------------------------------------------------------------
# Against a straightforward loop implementation
# ---------------------------------------------------------------------------


def _bilinear(plane, y, x):
    """Bilinear sample of a 2-D list-like at (y, x), torchvision's RoIAlign rules."""
    height, width = len(plane), len(plane[0])
    if y < -1.0 or y > height or x < -1.0 or x > width:
        return 0.0
    y, x = max(y, 0.0), max(x, 0.0)
    y_low, x_low = int(y), int(x)
    if y_low >= height - 1:
        y_low = y_high = height - 1
        y = float(y_low)
    else:
        y_high = y_low + 1
    if x_low >= width - 1:
        x_low = x_high = width - 1
        x = float(x_low)
    else:
        x_high = x_low + 1
    ly, lx = y - y_low, x - x_low
    hy, hx = 1.0 - ly, 1.0 - lx
    return (
        hy * hx * plane[y_low][x_low]
        + hy * lx * plane[y_low][x_high]
        + ly * hx * plane[y_high][x_low]
        + ly * lx * plane[y_high][x_high]
    )


def _roi_align_reference(planes, box, out_h, out_w, scale):
    """RoIAlign (aligned=False, adaptive sampling) of K planes over one box."""
    x1, y1, x2, y2 = (v * scale for v in box)
    roi_h, roi_w = max(y2 - y1, 1.0), max(x2 - x1, 1.0)
    bin_h, bin_w = roi_h / out_h, roi_w / out_w
    grid_h, grid_w = math.ceil(roi_h / out_h), math.ceil(roi_w / out_w)
    result = []
    for plane in planes:
        rows = []
        for ph in range(out_h):
            row = []
            for pw in range(out_w):
                total = 0.0
                for iy in range(grid_h):
                    y = y1 + ph * bin_h + (iy + 0.5) * bin_h / grid_h
                    for ix in range(grid_w):
                        x = x1 + pw * bin_w + (ix + 0.5) * bin_w / grid_w
                        total += _bilinear(plane, y, x)
                row.append(total / (grid_h * grid_w))
            rows.append(row)
        result.append(rows)
    return result


def _reference_losses(global_logits, local_logits, boxes, labels, saliency, stride, threshold):
    """Both losses (unweighted) with explicit loops over views, pixels and channels."""
    glob, loc = global_logits.tolist(), local_logits.tolist()
    boxes, labels, saliency = boxes.tolist(), labels.tolist(), saliency.tolist()
    num_images, num_views_total = len(glob), len(loc)
    num_views = num_views_total // num_images
    num_channels, h, w = len(loc[0]), len(loc[0][0]), len(loc[0][0][0])
    sal_h, sal_w = len(saliency[0][0]), len(saliency[0][0][0])
    at_sum = st_sum = 0.0
    for view in range(num_views_total):
        image = view // num_views
        pooled = _roi_align_reference(glob[image], boxes[view], h, w, 1.0 / stride)
        # Normalised, label-masked local scores.
        scores = []
        for k in range(num_channels):
            relu = [[max(loc[view][k][i][j], 0.0) for j in range(w)] for i in range(h)]
            peak = max(max(r) for r in relu)
            kept = k == num_channels - 1 or labels[image][k] > 0
            scores.append(
                [[relu[i][j] / (peak + EPS) if kept else 0.0 for j in range(w)] for i in range(h)]
            )
        for i in range(h):
            for j in range(w):
                winner = 0
                for k in range(1, num_channels):
                    if scores[k][i][j] > scores[winner][i][j]:
                        winner = k
                logits = [pooled[k][i][j] for k in range(num_channels)]
                top = max(logits)
                exps = [math.exp(v - top) for v in logits]
                probs = [e / sum(exps) for e in exps]
                sal = saliency[view][0][i * sal_h // h][j * sal_w // w]
                for k in range(num_channels):
                    t = scores[k][i][j] if k == winner else 0.0
                    at_sum += (probs[k] - t) ** 2
                    in_mask = 1.0 if t > threshold else 0.0
                    shaped = in_mask * (1.0 - sal if k == num_channels - 1 else sal)
                    st_sum += (probs[k] - shaped) ** 2
    count = num_views_total * num_channels * h * w
    return at_sum / count, st_sum / count


def _random_inputs(dtype=torch.float64, seed=0):
    generator = torch.Generator().manual_seed(seed)
    num_images, num_views, num_classes = 2, 3, 3
    global_logits = torch.randn(num_images, num_classes + 1, 12, 14, generator=generator)
    local_logits = torch.randn(num_images * num_views, num_classes + 1, 5, 6, generator=generator)
    # Boxes in input pixels (stride 8: map 12x14 -> input 96x112): smaller than the output
    # (one sample per bin), larger (2-3 samples per bin), one crossing the border.
    boxes = torch.tensor(
        [
            [3.0, 5.0, 40.0, 37.0],
            [10.5, 0.0, 90.25, 70.0],
            [60.0, 40.0, 112.0, 96.0],
            [0.0, 0.0, 112.0, 96.0],
            [20.0, 30.0, 31.0, 38.5],
            [80.0, 70.0, 120.0, 100.0],
        ]
    )
    labels = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    # 9x11 -> 5x6 nearest: source index floor(i * 9/5), floor(j * 11/6), exact in float.
    saliency = torch.rand(num_images * num_views, 1, 9, 11, generator=generator)
    tensors = (global_logits, local_logits, boxes, labels, saliency)
    return tuple(t.to(dtype) for t in tensors)


def test_losses_match_loop_reference():
    global_logits, local_logits, boxes, labels, saliency = _random_inputs()
    ref_at, ref_st = _reference_losses(
        global_logits, local_logits, boxes, labels, saliency, stride=8, threshold=0.001
    )
    loss_at = AttentionTransferLoss(loss_weight=10.0)(global_logits, local_logits, boxes, labels)
    loss_st = ShapeTransferLoss(loss_weight=10.0)(
        global_logits, local_logits, boxes, labels, saliency
    )
    assert loss_at.dtype == torch.float64
    assert abs(loss_at.item() - 10.0 * ref_at) < 1e-9
    assert abs(loss_st.item() - 10.0 * ref_st) < 1e-9
    # The two losses differ on these inputs (guards against comparing a loss to itself).
    assert abs(ref_at - ref_st) > 1e-3


@pytest.mark.parametrize("dtype, tolerance", [(torch.float32, 1e-5), (torch.float16, 5e-3)])
def test_losses_low_precision(dtype, tolerance):
    inputs64 = _random_inputs(torch.float64)
    inputs = _random_inputs(dtype)
    for loss_fn, count in ((AttentionTransferLoss(), 4), (ShapeTransferLoss(), 5)):
        expected = loss_fn(*inputs64[:count]).item()
        loss = loss_fn(*inputs[:count])
        assert loss.dtype == dtype
        assert loss.item() == pytest.approx(expected, rel=tolerance)


def test_half_precision_empty_channel_stays_finite():
    # An all-negative channel has max 0 after ReLU; in float16 1e-8 rounds to 0,
    # so a naive 0 / (0 + 1e-8) would be NaN.
    global_logits = torch.zeros(1, 2, 4, 4, dtype=torch.float16)
    local_logits = -torch.ones(1, 2, 3, 3, dtype=torch.float16)
    boxes = torch.tensor([[0.0, 0.0, 32.0, 32.0]], dtype=torch.float16)
    labels = torch.ones(1, 1, dtype=torch.float16)
    loss = AttentionTransferLoss(loss_weight=1.0)(global_logits, local_logits, boxes, labels)
    # T is all 0, G is 0.5 everywhere.
    assert loss.item() == pytest.approx(0.25)


# ---------------------------------------------------------------------------
# Gradients, construction, errors
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("loss_cls", [AttentionTransferLoss, ShapeTransferLoss])
def test_gradient_reaches_global_only(loss_cls):
    global_logits, local_logits, boxes, labels, saliency = _random_inputs(torch.float32)
    global_logits.requires_grad_(True)
    local_logits.requires_grad_(True)
    args = (global_logits, local_logits, boxes, labels)
    if loss_cls is ShapeTransferLoss:
        args += (saliency,)
    loss_cls()(*args).backward()
    assert global_logits.grad is not None
    assert global_logits.grad.abs().sum() > 0
    assert local_logits.grad is None or not local_logits.grad.any()


def test_build_from_registry_and_loss_name():
    at = MODELS.build(dict(type="AttentionTransferLoss", loss_weight=2.0, feat_stride=4))
    st = MODELS.build(dict(type="ShapeTransferLoss", threshold=0.1, loss_name="loss_shape"))
    assert isinstance(at, AttentionTransferLoss) and isinstance(st, ShapeTransferLoss)
    assert (at.loss_weight, at.feat_stride, at.loss_name) == (2.0, 4, "loss_at")
    assert (st.loss_weight, st.feat_stride, st.threshold) == (10.0, 8, 0.1)
    assert st.loss_name == "loss_shape"


def _good_inputs():
    return (
        torch.zeros(2, 4, 6, 6),
        torch.zeros(6, 4, 3, 3),
        torch.zeros(6, 4),
        torch.zeros(2, 3),
        torch.zeros(6, 1, 5, 5),
    )


@pytest.mark.parametrize(
    "index, bad, message",
    [
        (1, torch.zeros(5, 4, 3, 3), "not a positive multiple"),
        (1, torch.zeros(6, 3, 3, 3), "channels"),
        (0, torch.zeros(2, 4, 6), "global_logits must be"),
        (3, torch.zeros(2, 4), "K must be C\\+1"),
        (3, torch.zeros(3, 3), "labels must be"),
        (2, torch.zeros(6, 5), "boxes must be"),
        (2, torch.zeros(3, 4), "boxes must be"),
        (4, torch.zeros(4, 1, 5, 5), "saliency must be"),
        (4, torch.zeros(6, 2, 5, 5), "saliency must be"),
    ],
)
def test_bad_shapes_raise(index, bad, message):
    inputs = list(_good_inputs())
    inputs[index] = bad
    with pytest.raises(ValueError, match=message):
        ShapeTransferLoss()(*inputs)
    if index < 4:
        with pytest.raises(ValueError, match=message):
            AttentionTransferLoss()(*inputs[:4])
    # The good inputs themselves pass.
    assert torch.isfinite(ShapeTransferLoss()(*_good_inputs()))
