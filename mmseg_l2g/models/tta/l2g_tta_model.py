"""L2GTTAModel: the release's multi-scale + flip CAM readout as an MMEngine TTA model."""

from typing import List, Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseTTAModel
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from ..classifiers.cam_readout import normalise_cams
from ..heads.cam_head import CAMHead


@MODELS.register_module()
class L2GTTAModel(BaseTTAModel):
    """Merges the views of ``TestTimeAug`` (scales x flips) as the L2G release does.

    ``mmseg``'s ``tools/test.py --tta`` (and ours) wrap the config's model in
    ``tta_model`` and test on ``tta_pipeline``, whose ``TestTimeAug`` makes one
    view per scale and flip of each image. Contract of a view's data sample:
    ``seg_logits``, a ``PixelData`` holding the RAW (C+1, H, W) logits of the
    global network, background last, upsampled (bicubic) to the original image
    size (``ori_shape``) and flipped back when the view was flipped.
    :meth:`view_logits` makes them from the wrapped classifier's
    ``extract_cam_logits`` (so the classifier's own ``predict`` readout does
    not run once per view); :meth:`merge_preds` takes any such samples.

    The merge: the mean of the views' raw logits, ReLU on the C class
    channels, each map divided by its maximum + 1e-5, classes absent from the
    image zeroed (its ``gt_label``; without one, those whose pooled logit has
    a sigmoid > 0.5), and the mask by background threshold: a pixel takes the
    class of its highest map when that exceeds ``bg_thr``, else background (0).

    Output per image: ``pred_cam`` (C, H, W), ``pred_sem_seg`` (1, H, W;
    0 = background, c = class c), ``seg_logits`` (the mean logits), and the
    first view's metainfo and ground truth.

    Args:
        module: the ``L2GClassifier`` (config or module).
        bg_thr: background threshold; None: the classifier's
            (``test_cfg.bg_thr``, else ``bg_thr``).
        data_preprocessor: see ``BaseTTAModel``.
    """

    def __init__(
        self,
        module: dict,
        bg_thr: Optional[float] = None,
        data_preprocessor: Optional[dict] = None,
    ) -> None:
        super().__init__(module=module, data_preprocessor=data_preprocessor)
        for needed in ("extract_cam_logits", "num_classes"):
            if not hasattr(self.module, needed):
                raise TypeError(
                    f"L2GTTAModel wraps an L2G classifier (with {needed}); "
                    f"got {type(self.module).__name__}"
                )
        self.bg_thr = self._module_bg_thr() if bg_thr is None else float(bg_thr)
        score = getattr(getattr(self.module, "test_cfg", None), "score", "logits")
        if score != "logits":
            raise ValueError(
                f"L2GTTAModel merges raw logits (the release's readout); the classifier's "
                f"test_cfg.score={score!r} is not supported here: use tools/gen_pseudo.py, "
                "whose multi-scale + flip readout follows test_cfg"
            )

    def _module_bg_thr(self) -> float:
        """The wrapped classifier's background threshold."""
        test_cfg = getattr(self.module, "test_cfg", None)
        value = getattr(test_cfg, "bg_thr", None)
        if value is None and isinstance(test_cfg, dict):
            value = test_cfg.get("bg_thr")
        if value is None:
            value = getattr(self.module, "bg_thr", None)
        if value is None:
            raise ValueError("give L2GTTAModel a bg_thr: the wrapped model has none")
        return float(value)

    def test_step(self, data: dict) -> List[SegDataSample]:
        """Reads every view's logits, then merges them per image.

        Args:
            data: ``TestTimeAug`` output collated by ``pseudo_collate``:
                ``inputs`` and ``data_samples``, each a list over views of
                lists over images.

        Returns:
            One merged data sample per image.
        """
        views = [
            dict(inputs=inputs, data_samples=samples)
            for inputs, samples in zip(data["inputs"], data["data_samples"])
        ]
        per_view = [self.view_logits(view) for view in views]
        return self.merge_preds([list(samples) for samples in zip(*per_view)])

    @torch.no_grad()
    def view_logits(self, view: dict) -> List[SegDataSample]:
        """Sets ``seg_logits`` (see the class) on the data samples of one view."""
        data = self.module.data_preprocessor(view, False)
        logits = self.module.extract_cam_logits(data["inputs"]).float()
        samples = data["data_samples"]
        for index, sample in enumerate(samples):
            size = tuple(sample.metainfo["ori_shape"])[:2]
            upsampled = F.interpolate(
                logits[index : index + 1], size=size, mode="bicubic", align_corners=False
            )[0]
            if sample.metainfo.get("flip", False):
                axis = -2 if sample.metainfo.get("flip_direction") == "vertical" else -1
                upsampled = upsampled.flip(axis)
            sample.seg_logits = PixelData(data=upsampled)
        return samples

    def merge_preds(self, data_samples_list: List[List[SegDataSample]]) -> List[SegDataSample]:
        """Merges each image's views (a list of data samples with ``seg_logits``)."""
        num_classes = int(self.module.num_classes)
        merged = []
        for views in data_samples_list:
            logits = torch.stack([view.seg_logits.data for view in views]).mean(dim=0)
            if logits.shape[0] != num_classes + 1:
                raise ValueError(
                    f"seg_logits have {logits.shape[0]} channels; expected C+1 = "
                    f"{num_classes + 1} (background last)"
                )
            cams = normalise_cams(logits[:num_classes])
            first = views[0]
            if "gt_label" in first:
                present = first.gt_label.to(cams.device) > 0
            else:
                scores = CAMHead.class_scores(logits[None], num_classes)[0]
                present = torch.sigmoid(scores) > 0.5
            cams = cams * present[:, None, None].to(cams.dtype)
            background = torch.full_like(cams[:1], self.bg_thr)
            mask = torch.cat([background, cams]).argmax(dim=0, keepdim=True)
            sample = SegDataSample(metainfo=first.metainfo)
            for key in ("gt_sem_seg", "gt_label"):
                if key in first:
                    sample.set_data({key: first.get(key)})
            sample.set_data(
                dict(
                    seg_logits=PixelData(data=logits),
                    pred_cam=PixelData(data=cams),
                    pred_sem_seg=PixelData(data=mask),
                )
            )
            merged.append(sample)
        return merged
