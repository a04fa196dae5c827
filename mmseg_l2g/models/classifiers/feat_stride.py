"""The output stride of the global network: measured once at build time, checked against config.

The stride (input pixels per pixel of the global CAM logits) is what the
transfer losses' RoI alignment reads to map a local view's box in image pixels
onto the global logits. :class:`L2GClassifier` measures it by running its global
network once on a dummy input (:func:`measure_feat_stride`), refuses a
configured stride that differs (:func:`resolve_feat_stride`) and hands the one
number to its transfer losses (:func:`loss_cfg_with_stride`).
"""

from typing import Callable, Optional

import torch
import torch.nn as nn

# Side of the square dummy input: a multiple of 32, so every stride up to 32 divides it.
PROBE_SIZE = 64


def check_stride_value(stride: object, what: str) -> int:
    """Returns ``stride`` as an int; ValueError unless it is a whole number >= 1."""
    if isinstance(stride, bool) or not isinstance(stride, (int, float)):
        raise ValueError(f"{what} must be a whole number >= 1, got {stride!r}")
    if stride < 1 or float(stride) != int(stride):
        raise ValueError(f"{what} must be a whole number >= 1, got {stride!r}")
    return int(stride)


def measure_feat_stride(
    network: Callable[[torch.Tensor], torch.Tensor],
    modules: nn.Module,
    probe_size: int = PROBE_SIZE,
) -> int:
    """Input pixels per output pixel of ``network`` on a (1, 3, probe, probe) zero input.

    Runs without gradient with every submodule of ``modules`` in eval mode
    (BatchNorm statistics untouched), then restores each submodule's own mode
    (a backbone with ``norm_eval`` keeps its frozen norms).

    Args:
        network: image (B, 3, H, W) -> map (B, K, h, w), e.g. backbone + CAM head.
        modules: the modules ``network`` runs (their mode and device are used).
        probe_size: side of the dummy input.

    Returns:
        The stride, the same along both axes.

    Raises:
        ValueError: when ``probe_size / output size`` is not a whole number or
            differs between the axes, naming the sizes and both ratios.
    """
    modes = {module: module.training for module in modules.modules()}
    parameter = next(iter(modules.parameters()), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    probe = torch.zeros((1, 3, probe_size, probe_size), device=device)
    try:
        modules.eval()
        with torch.no_grad():
            output = network(probe)
    finally:
        for module, mode in modes.items():
            module.training = mode
    if output.ndim != 4 or min(output.shape[-2:]) < 1:
        raise ValueError(
            f"cannot measure the output stride: a {probe_size}x{probe_size} input gave an "
            f"output of shape {tuple(output.shape)}, expected (B, K, h, w)"
        )
    height, width = output.shape[-2:]
    ratios = (probe_size / height, probe_size / width)
    if ratios[0] != ratios[1] or ratios[0] != int(ratios[0]):
        raise ValueError(
            f"the global network's output stride is not a whole number: a "
            f"{probe_size}x{probe_size} input gave a {height}x{width} map (ratios "
            f"{ratios[0]:g} and {ratios[1]:g})"
        )
    return int(ratios[0])


def resolve_feat_stride(measured: int, configured: Optional[int]) -> int:
    """The stride to use: ``measured``, which a configured stride must equal.

    Raises:
        ValueError: naming both numbers when they differ.
    """
    if configured is None:
        return measured
    configured = check_stride_value(configured, "feat_stride")
    if configured != measured:
        raise ValueError(
            f"feat_stride={configured} is configured but the global network's output "
            f"stride is {measured} (measured on a dummy input): remove feat_stride or set "
            f"it to {measured}"
        )
    return configured


def loss_cfg_with_stride(loss_cfg: dict, stride: int, key: str) -> dict:
    """A copy of a transfer loss config with ``feat_stride=stride``.

    Raises:
        ValueError: when the config gives another ``feat_stride``, naming both numbers.
    """
    cfg = dict(loss_cfg)
    given = cfg.get("feat_stride")
    if given is not None and check_stride_value(given, f"{key}.feat_stride") != stride:
        raise ValueError(
            f"{key}.feat_stride={given} but the global network's output stride is {stride}: "
            f"remove {key}.feat_stride (the classifier sets it) or set it to {stride}"
        )
    cfg["feat_stride"] = stride
    return cfg
