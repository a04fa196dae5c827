"""L2GClassifier: the global and local CAM networks of L2G (stage 1)."""

from typing import Dict, List, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.structures import PixelData
from mmseg.registry import MODELS

from ..heads.cam_head import CAMHead

ForwardResults = Union[Dict[str, torch.Tensor], List, torch.Tensor]


@MODELS.register_module()
class L2GClassifier(BaseModel):
    """Global and local classification networks trained with L2G's transfer losses.

    ``loss`` = ``local_cls_weight`` x multi-label soft margin of every local view
    against its image's label + the transfer loss (``loss_shape`` for the images
    that have a saliency map, ``loss_transfer`` for the others) + an optional
    ``global_cls_weight`` x classification loss of the global network (0 by
    default: the paper shows it hurts). With ``with_local=False`` the model is
    the plain-CAM baseline: the global network alone with a classification loss.

    ``predict`` gives the global network's CAMs (``pred_cam``, C channels at the
    input image size, ReLU, max-normalised, absent classes zeroed) and a
    thresholded mask (``pred_sem_seg``, 0 = background, c = class c) so mmseg's
    ``IoUMetric`` scores pseudo masks during validation. ``_forward`` returns the
    raw (B, C+1, h, w) logits of the global network.

    Args:
        backbone: Backbone config of the global network (any mmseg / mmpretrain
            backbone returning a tuple of feature maps, output stride 8).
        head: ``CAMHead`` config of the global network.
        local_backbone: Backbone config of the local network (default: same as
            ``backbone``, separate weights).
        local_head: Head config of the local network (default: same as ``head``).
        share_weights: Use one network for global and local views.
        with_local: Build the local network and the transfer losses (False: the
            plain-CAM baseline).
        loss_transfer: Attention transfer loss config (images without saliency).
        loss_shape: Shape transfer loss config (images with saliency); None
            uses ``loss_transfer`` for every image.
        local_cls_weight: Weight of the local classification loss.
        global_cls_weight: Weight of a classification loss on the global network.
        bg_thr: Background score of ``pred_sem_seg``.
        data_preprocessor: ``L2GDataPreprocessor`` config.
        test_cfg: accepted for mmseg's ``init_model``; unused.
        train_cfg: accepted for mmseg's ``init_model``; unused.
        pretrained: accepted for mmseg's ``init_model``; must be ``None``
            (give pretrained weights through the backbone's ``init_cfg``).
        init_cfg: MMEngine initialisation config.
    """

    def __init__(
        self,
        backbone: dict,
        head: dict,
        local_backbone: Optional[dict] = None,
        local_head: Optional[dict] = None,
        share_weights: bool = False,
        with_local: bool = True,
        loss_transfer: Optional[dict] = None,
        loss_shape: Optional[dict] = None,
        local_cls_weight: float = 1.0,
        global_cls_weight: float = 0.0,
        bg_thr: float = 0.25,
        data_preprocessor: Optional[dict] = None,
        test_cfg: Optional[dict] = None,
        train_cfg: Optional[dict] = None,
        pretrained: Optional[str] = None,
        init_cfg: Optional[dict] = None,
    ) -> None:
        if pretrained is not None:
            raise ValueError(
                "L2GClassifier takes no 'pretrained'; set the backbone's "
                "init_cfg=dict(type='Pretrained', checkpoint=...) instead"
            )
        if data_preprocessor is None:
            data_preprocessor = dict(type="L2GDataPreprocessor")
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if not with_local and global_cls_weight <= 0:
            raise ValueError("with_local=False trains nothing unless global_cls_weight > 0")
        self.global_backbone = MODELS.build(backbone)
        self.global_head: CAMHead = MODELS.build(head)
        self.num_classes = self.global_head.num_classes
        self.with_local = with_local
        self.local_cls_weight = local_cls_weight
        self.global_cls_weight = global_cls_weight
        self.bg_thr = bg_thr
        self.test_cfg = test_cfg
        self.train_cfg = train_cfg
        if with_local:
            if share_weights:
                self.local_backbone = self.global_backbone
                self.local_head = self.global_head
            else:
                self.local_backbone = MODELS.build(local_backbone or backbone)
                self.local_head = MODELS.build(local_head or head)
            if self.local_head.num_classes != self.num_classes:
                raise ValueError("global and local heads must have the same num_classes")
            if loss_transfer is None:
                loss_transfer = dict(type="AttentionTransferLoss")
            self.loss_transfer: nn.Module = MODELS.build(loss_transfer)
            self.loss_shape: Optional[nn.Module] = (
                MODELS.build(loss_shape) if loss_shape is not None else None
            )

    def extract_cam_logits(self, inputs: torch.Tensor) -> torch.Tensor:
        """(B, C+1, h, w) logits of the global network for normalised images."""
        return self.global_head(self.global_backbone(inputs), inputs)

    def extract_local_logits(self, local_inputs: torch.Tensor) -> torch.Tensor:
        """(B*N, C+1, h, w) logits of the local network for normalised local views."""
        return self.local_head(self.local_backbone(local_inputs), local_inputs)

    def forward(
        self,
        inputs: torch.Tensor,
        data_samples: Optional[List] = None,
        mode: str = "tensor",
        local_inputs: Optional[torch.Tensor] = None,
    ) -> ForwardResults:
        """Dispatches to ``loss``, ``predict`` or ``_forward`` as MMEngine models do."""
        if mode == "loss":
            return self.loss(inputs, data_samples, local_inputs)
        if mode == "predict":
            return self.predict(inputs, data_samples)
        if mode == "tensor":
            return self._forward(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}": use "loss", "predict" or "tensor"')

    def _forward(self, inputs: torch.Tensor, data_samples: Optional[List] = None) -> torch.Tensor:
        return self.extract_cam_logits(inputs)

    @staticmethod
    def _labels(data_samples: List, device: torch.device) -> torch.Tensor:
        return torch.stack([s.gt_label for s in data_samples]).to(device=device)

    def _class_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        scores = CAMHead.class_scores(logits, self.num_classes)
        return F.multilabel_soft_margin_loss(scores, labels.to(scores.dtype))

    def loss(
        self,
        inputs: torch.Tensor,
        data_samples: List,
        local_inputs: Optional[torch.Tensor] = None,
    ) -> Dict[str, torch.Tensor]:
        """Returns every loss term separately (MMEngine sums the ``loss*`` keys)."""
        labels = self._labels(data_samples, inputs.device)
        global_logits = self.extract_cam_logits(inputs)
        losses: Dict[str, torch.Tensor] = {}
        if self.global_cls_weight > 0:
            losses["loss_cls_global"] = self.global_cls_weight * self._class_loss(
                global_logits, labels
            )
        if not self.with_local:
            return losses
        if local_inputs is None:
            raise ValueError(
                "L2G training needs local views: put LocalCropTransform in the pipeline"
            )
        batch_size = inputs.shape[0]
        num_views = local_inputs.shape[0] // batch_size
        local_logits = self.extract_local_logits(local_inputs)
        view_labels = labels.repeat_interleave(num_views, dim=0)
        losses["loss_cls_local"] = self.local_cls_weight * self._class_loss(
            local_logits, view_labels
        )
        losses.update(
            self._transfer_losses(global_logits, local_logits, data_samples, labels, num_views)
        )
        return losses

    def _transfer_losses(
        self,
        global_logits: torch.Tensor,
        local_logits: torch.Tensor,
        data_samples: List,
        labels: torch.Tensor,
        num_views: int,
    ) -> Dict[str, torch.Tensor]:
        """Shape transfer on images with saliency, attention transfer on the rest.

        Each term is averaged over its images and weighted by its share of the
        batch, so the sum is the per-image mean of L_kt. Both keys are always
        returned (zero when unused), so every rank logs the same terms.
        """
        device = global_logits.device
        boxes = torch.cat([s.local_boxes for s in data_samples]).to(device)
        with_sal = [
            self.loss_shape is not None and hasattr(s, "local_saliency") for s in data_samples
        ]
        batch_size = len(data_samples)
        zero = global_logits.sum() * 0.0
        out = {self.loss_transfer.loss_name: zero}
        if self.loss_shape is not None:
            out[self.loss_shape.loss_name] = zero
        for use_shape in (False, True):
            idx = [i for i, s in enumerate(with_sal) if s == use_shape]
            if not idx:
                continue
            img_idx = torch.tensor(idx, device=device)
            view_idx = img_idx[:, None] * num_views + torch.arange(num_views, device=device)
            view_idx = view_idx.reshape(-1)
            args = (
                global_logits[img_idx],
                local_logits[view_idx],
                boxes[view_idx],
                labels[img_idx],
            )
            share = len(idx) / batch_size
            if use_shape:
                saliency = torch.cat([data_samples[i].local_saliency for i in idx]).to(device)
                out[self.loss_shape.loss_name] = share * self.loss_shape(*args, saliency)
            else:
                out[self.loss_transfer.loss_name] = share * self.loss_transfer(*args)
        return out

    def parse_losses(self, losses: Dict[str, torch.Tensor]) -> tuple:
        """MMEngine's loss parsing, refusing a NaN or infinite term before any update.

        Raises:
            FloatingPointError: naming the iteration and the loss term.
        """
        for name, value in losses.items():
            if not bool(torch.isfinite(value.detach()).all()):
                from mmengine.logging import MessageHub

                step = MessageHub.get_current_instance().get_info("iter")
                where = f"iteration {step + 1}" if step is not None else "this step"
                raise FloatingPointError(
                    f"loss term '{name}' is {value.detach().flatten()[0].item()} at {where}; "
                    "training stopped before the update (lower the learning rate, check the "
                    "data, or resume from the last checkpoint)"
                )
        return super().parse_losses(losses)

    def predict(self, inputs: torch.Tensor, data_samples: Optional[List] = None) -> List:
        """Adds ``pred_cam`` and ``pred_sem_seg`` to each data sample."""
        from mmseg.structures import SegDataSample

        logits = self.extract_cam_logits(inputs)
        if data_samples is None:
            data_samples = [SegDataSample() for _ in range(inputs.shape[0])]
        for i, sample in enumerate(data_samples):
            cams = self.cams_from_logits(logits[i : i + 1], tuple(inputs.shape[-2:]))[0]
            if hasattr(sample, "gt_label"):
                present = sample.gt_label.to(cams.device) > 0
            else:
                present = torch.sigmoid(CAMHead.class_scores(logits[i : i + 1], self.num_classes))
                present = present[0] > 0.5
            cams = cams * present[:, None, None].to(cams.dtype)
            ori_shape = sample.metainfo.get("ori_shape", tuple(inputs.shape[-2:]))[:2]
            if sample.metainfo.get("flip", False):
                cams = cams.flip(-1 if sample.metainfo.get("flip_direction") != "vertical" else -2)
            cams = F.interpolate(cams[None], size=ori_shape, mode="bilinear", align_corners=False)[
                0
            ]
            bg = torch.full_like(cams[:1], self.bg_thr)
            mask = torch.cat([bg, cams]).argmax(dim=0, keepdim=True)
            sample.set_data(dict(pred_cam=PixelData(data=cams), pred_sem_seg=PixelData(data=mask)))
        return data_samples

    @staticmethod
    def cams_from_logits(logits: torch.Tensor, size: tuple) -> torch.Tensor:
        """Class channels of logits -> ReLU, upsampled to ``size``, each divided by its max."""
        num_classes = logits.shape[1] - 1
        cams = F.relu(logits[:, :num_classes].float())
        cams = F.interpolate(cams, size=size, mode="bilinear", align_corners=False)
        return cams / (cams.amax(dim=(2, 3), keepdim=True) + 1e-5)
