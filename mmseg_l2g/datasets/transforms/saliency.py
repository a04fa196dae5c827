"""NormalizeSaliency: scales the saliency map of the global view."""

import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

_MODES = ("max", "none")


@TRANSFORMS.register_module()
class NormalizeSaliency(BaseTransform):
    """Divides ``gt_saliency`` by its own maximum (the release's), after the crop.

    The loader maps 0..255 to 0..1; a detector whose strongest response is
    128 thus gives at most 0.5. With ``mode='max'`` the map of the global view
    is divided by its maximum, so its largest value is exactly 1 (the release
    normalises the map of the cropped view this way). A map that is 0
    everywhere (nothing salient in the view) stays 0 everywhere: no division
    happens, and the shape-transfer targets are then background only. Without
    ``gt_saliency`` nothing happens.

    Args:
        mode: ``'max'`` (divide by the map's maximum) or ``'none'`` (keep the
            loaded 0..1 values).
    """

    def __init__(self, mode: str = "max") -> None:
        if mode not in _MODES:
            raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
        self.mode = mode

    def transform(self, results: dict) -> dict:
        """Rescales ``results['gt_saliency']`` in place of the old map."""
        saliency = results.get("gt_saliency")
        if saliency is None or self.mode == "none":
            return results
        peak = float(saliency.max(initial=0.0))
        if peak > 0.0:
            results["gt_saliency"] = (saliency / peak).astype(np.float32)
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(mode={self.mode!r})"
