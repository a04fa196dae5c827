"""L2GTTAModel: ``tools/test.py --tta`` as stage 2 reads CAMs (the model's ``test_cfg``)."""

from typing import List, Optional

from mmengine.model import BaseTTAModel
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample


@MODELS.register_module()
class L2GTTAModel(BaseTTAModel):
    """The test-time augmentation of an L2G classifier: its ``test_cfg`` readout.

    ``mmseg``'s ``tools/test.py --tta`` (and ours) wrap the config's model in
    ``tta_model`` and test on ``tta_pipeline``. Here the augmentation is the
    CAM readout itself: the wrapped classifier's ``predict(..., tta=True)``
    reads every scale of its ``test_cfg``, each with its flip when ``flip``
    is set, exactly as stage 2 does (the one :func:`read_cams`, with
    ``test_cfg``'s ``interp``, ``score``, ``fp16``, ``bg_thr`` and ``crf``),
    so ``--tta`` masks are stage 2's masks and the plain test is the same
    readout at one scale, unflipped.

    Why the views are not ``TestTimeAug``'s: mmcv's ``Resize`` and the
    readout's resampling differ (no antialiasing, other rounding), so views
    made by the pipeline would not give stage 2's masks, and the scales would
    be written twice (``tta_pipeline`` and ``test_cfg``). The ``tta_pipeline``
    of the L2G configs is therefore the test pipeline at the image's own size,
    without resize or flip (``configs/_base_/tta_l2g.py``); the module reads
    the views in one forward pass per scale (each image with its flip, the
    images of a batch together).

    Output per image: the data sample with ``pred_cam`` (C, H, W) and
    ``pred_sem_seg`` (1, H, W; 0 = background, c = class c) at ``ori_shape``.

    Args:
        module: the ``L2GClassifier`` (config or module).
        data_preprocessor: see ``BaseTTAModel``.
    """

    def __init__(self, module: dict, data_preprocessor: Optional[dict] = None) -> None:
        super().__init__(module=module, data_preprocessor=data_preprocessor)
        for needed in ("extract_cam_logits", "num_classes", "predict"):
            if not hasattr(self.module, needed):
                raise TypeError(
                    f"L2GTTAModel wraps an L2G classifier (with {needed}); "
                    f"got {type(self.module).__name__}"
                )

    def test_step(self, data: dict) -> List[SegDataSample]:
        """The readout of ``test_cfg`` (scales x flips) of one collated batch.

        Args:
            data: the ``tta_pipeline`` output collated by ``pseudo_collate``:
                ``inputs`` and ``data_samples``, one per image.

        Returns:
            One data sample per image.

        Raises:
            ValueError: the batch holds ``TestTimeAug`` views (lists per image).
        """
        inputs = data["inputs"]
        if isinstance(inputs, (list, tuple)) and inputs and isinstance(inputs[0], (list, tuple)):
            raise ValueError(
                "L2GTTAModel reads the scales and flips of the model's test_cfg itself: its "
                "tta_pipeline is the test pipeline without Resize or TestTimeAug "
                "(configs/_base_/tta_l2g.py)"
            )
        data = self.module.data_preprocessor(data, False)
        return self.module.predict(data["inputs"], data["data_samples"], tta=True)

    def merge_preds(self, data_samples_list: List[List[SegDataSample]]) -> List[SegDataSample]:
        """Nothing left to merge (the readout averaged the views): each image's one sample."""
        if any(len(views) != 1 for views in data_samples_list):
            raise ValueError("L2GTTAModel merges its views inside the readout; one per image")
        return [views[0] for views in data_samples_list]
