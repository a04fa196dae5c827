"""mmseg's EncoderDecoder with optional dense-CRF refinement of its test-time predictions."""

from typing import Optional, Tuple

import mmcv
import numpy as np
import torch
from mmengine import fileio
from mmengine.structures import PixelData
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.utils import OptSampleList, SampleList

from ..postprocess.dense_crf import crf_image, crf_settings, dense_crf
from ..postprocess.flip import flip_direction

LOG_FLOOR = 1e-8  # marginals are clamped here before the log written to ``seg_logits``


@MODELS.register_module()
class CRFEncoderDecoder(EncoderDecoder):
    """``EncoderDecoder`` that refines its predictions with a dense CRF when asked.

    ``test_cfg=dict(mode='whole', crf=dict(iters=10, ...))`` turns the CRF on
    (keys as :func:`~mmseg_l2g.models.postprocess.dense_crf`; ``crf=dict()``
    uses deeplab-pytorch's VOC settings); without ``crf`` (or ``crf=None``)
    the model is exactly ``EncoderDecoder``. From the command line:
    ``--cfg-options model.test_cfg.crf.iters=10``.

    After ``EncoderDecoder.predict`` has resized each image's logits to its
    ``ori_shape``, the softmax of the logits and the original image go through
    the CRF; ``pred_sem_seg`` becomes the argmax of the CRF marginals and
    ``seg_logits`` their log (so that a later softmax, e.g. in test-time
    augmentation, gives the marginals back).

    The image the CRF sees is the file ``metainfo['img_path']`` (read with
    mmengine's file backends, RGB), i.e. the very pixels the prediction is
    scored on, not the resized, normalised network input. Only when there is
    no ``img_path`` (a tensor given without data samples, or samples without a
    path) is the image rebuilt from the input batch: the data preprocessor's
    normalisation is undone, the padding removed, the flip undone and the
    result resized to ``ori_shape``.

    Args:
        **kwargs: ``EncoderDecoder`` arguments.
    """

    def predict(self, inputs: torch.Tensor, data_samples: OptSampleList = None) -> SampleList:
        """Predicts as ``EncoderDecoder``, then refines each sample with the CRF if configured."""
        results = super().predict(inputs, data_samples)
        crf_cfg = (self.test_cfg or {}).get("crf")
        if crf_cfg is None:
            return results
        settings = crf_settings(crf_cfg)
        for index, sample in enumerate(results):
            logits = sample.seg_logits.data
            if logits.shape[0] < 2:
                raise ValueError("the dense CRF needs K >= 2 class channels, got one (binary head)")
            meta = sample.metainfo if data_samples is not None else {}
            image = self.crf_image(inputs[index], meta, tuple(logits.shape[-2:]))
            probs = logits.detach().float().softmax(dim=0).cpu().numpy()
            marginals = torch.from_numpy(dense_crf(image, probs, **settings)).to(logits.device)
            sample.set_data(
                dict(
                    seg_logits=PixelData(data=marginals.clamp_min(LOG_FLOOR).log()),
                    pred_sem_seg=PixelData(data=marginals.argmax(dim=0, keepdim=True)),
                )
            )
        return results

    def crf_image(self, inputs: torch.Tensor, meta: dict, size: Tuple[int, int]) -> np.ndarray:
        """Returns the uint8 (H, W, 3) RGB image of one sample at ``size`` for the CRF.

        Args:
            inputs: This sample's (C, h, w) network input (used without ``img_path``).
            meta: This sample's metainfo (may be empty).
            size: (H, W) of the logits to refine.
        """
        path: Optional[str] = meta.get("img_path")
        if path:
            try:
                image = mmcv.imfrombytes(fileio.get(path), flag="color", channel_order="rgb")
            except FileNotFoundError as error:
                raise FileNotFoundError(f"dense CRF: cannot read the image {path}") from error
            if image is None:
                raise ValueError(f"dense CRF: {path} is not an image mmcv can decode")
            if image.shape[:2] != tuple(size):
                image = mmcv.imresize(image, (size[1], size[0]), interpolation="bilinear")
            return np.ascontiguousarray(image)
        return self._image_from_inputs(inputs, meta, size)

    def _image_from_inputs(
        self, inputs: torch.Tensor, meta: dict, size: Tuple[int, int]
    ) -> np.ndarray:
        """Undoes the data preprocessor (normalisation, padding, flip) on one input."""
        preprocessor = self.data_preprocessor
        normalised = getattr(preprocessor, "_enable_normalize", False)
        return crf_image(
            inputs,
            size,
            mean=preprocessor.mean if normalised else None,
            std=preprocessor.std if normalised else None,
            bgr=not getattr(preprocessor, "channel_conversion", False),  # mmseg loads BGR
            padding=meta.get("img_padding_size", meta.get("padding_size", [0] * 4)),
            flip=flip_direction(meta),
        )
