"""L2GClassifier: the global and local CAM networks of L2G (stage 1)."""

from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.structures import PixelData
from mmseg.registry import MODELS

from ...utils.errors import CheckpointMismatchError
from ..heads.cam_head import CAMHead
from ..losses.transfer_target import check_weight
from ..postprocess.dense_crf import crf_image
from ..postprocess.flip import flip_direction, undo_flip
from ..postprocess.pseudo_mask import make_mask
from .cam_readout import CAMReadoutConfig, present_classes, read_cams
from .feat_stride import loss_cfg_with_stride, measure_feat_stride, resolve_feat_stride

ForwardResults = Union[Dict[str, torch.Tensor], List, torch.Tensor]


_SHOWN_SHAPES = 5


def refuse_misfit_shapes(
    module: nn.Module, state_dict: Dict[str, torch.Tensor], prefix: str, *args: Any
) -> None:
    """Load pre-hook: refuses weights whose shapes differ from the model's.

    ``mmengine.runner.load_checkpoint`` (mmseg's ``init_model``, ``load_from``)
    loads with ``strict=False``, where a head of another class count is only
    warned about and the model keeps random heads.

    Raises:
        CheckpointMismatchError: a ``ValueError`` naming each mismatched key
            with both shapes.
    """
    own = module.state_dict()
    shapes = [
        f"{prefix}{key}: checkpoint {tuple(state_dict[prefix + key].shape)} vs model "
        f"{tuple(value.shape)}"
        for key, value in own.items()
        if prefix + key in state_dict
        and torch.is_tensor(state_dict[prefix + key])
        and state_dict[prefix + key].shape != value.shape
    ]
    if shapes:
        heads = any("head." in line.split(":")[0] for line in shapes)
        hint = "was it trained with another num_classes?" if heads else "another model's?"
        shown = ", ".join(shapes[:_SHOWN_SHAPES]) + (" ..." if len(shapes) > _SHOWN_SHAPES else "")
        raise CheckpointMismatchError(
            f"checkpoint does not fit the {type(module).__name__} of the config: "
            f"{len(shapes)} shape keys ({shown}); {hint}"
        )


@MODELS.register_module()
class L2GClassifier(BaseModel):
    """Global and local classification networks trained with L2G's transfer losses.

    ``loss`` = ``local_cls_weight`` x ``loss_cls`` (multi-label soft margin) of every local view
    against its image's label + the transfer loss (``loss_shape`` for the images
    that have a saliency map, ``loss_transfer`` for the others) + an optional
    ``global_cls_weight`` x classification loss of the global network (0 by
    default: the paper shows it hurts). With ``with_local=False`` the model is
    the plain-CAM baseline: the global network alone with a classification loss.

    ``test_cfg`` is the one CAM readout (:class:`CAMReadoutConfig`, parsed
    here once): :meth:`inference` (stage 2, ``--tta``) reads its scales and
    flips (the release's multi-scale + flip mean of raw logits, bicubic, ReLU,
    max-normalised); :meth:`predict` (validation, the plain test) reads each
    image once at the pipeline's scale, or, with ``tta=True``, as
    :meth:`inference` does, and adds the mask (:func:`make_mask`):
    ``pred_cam`` (C channels at the original image size, absent classes
    zeroed), ``seg_logits`` (C + 1 channels, background first at ``bg_thr``:
    its argmax is the mask, for stock mmseg code) and ``pred_sem_seg``
    (0 = background, c = class c). ``_forward`` returns the raw (B, C+1, h, w) logits.

    ``feat_stride`` (input pixels per pixel of the global logits) is measured
    once at build time by running the global network on a 64x64 dummy input
    (:func:`measure_feat_stride`); the transfer losses' RoI alignment reads it
    (the classifier sets it in their configs). The readout needs none: it
    resizes the logits of each pass to the output size.

    Args:
        backbone: Backbone config of the global network (any mmseg / mmpretrain
            backbone returning a tuple of feature maps, any whole output stride:
            CNNs at 8 or 16, ViT at its patch size, Swin / ConvNeXt at 32).
        head: ``CAMHead`` config of the global network.
        local_backbone: Backbone config of the local network (default: same as
            ``backbone``, separate weights).
        local_head: Head config of the local network (default: same as ``head``).
        share_weights: Use one network for global and local views.
        with_local: Build the local network and the transfer losses (False: the
            plain-CAM baseline).
        feat_stride: the global network's output stride; default: measured.
            Given, it must equal the measured one (ValueError naming both);
            a ``feat_stride`` in a transfer loss config must equal it too.
        loss_transfer: Attention transfer loss config (images without saliency).
        loss_shape: Shape transfer loss config (images with saliency); None
            uses ``loss_transfer`` for every image.
        local_cls_weight: Weight of the local classification loss.
        global_cls_weight: Weight of a classification loss on the global network.
        loss_cls: the classification loss config, scores and multi-hot labels
            in (default ``MultiLabelSoftMarginLoss``, the release's).
        data_preprocessor: ``L2GDataPreprocessor`` config.
        test_cfg: the CAM readout (:class:`CAMReadoutConfig` keys: ``scales``,
            ``flip``, ``interp``, ``fp16``, ``bg_thr``, ``crf``, ``score``).
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
        feat_stride: Optional[int] = None,
        loss_transfer: Optional[dict] = None,
        loss_shape: Optional[dict] = None,
        local_cls_weight: float = 1.0,
        global_cls_weight: float = 0.0,
        loss_cls: Optional[dict] = None,
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
        check_weight("L2GClassifier", "local_cls_weight", local_cls_weight)
        check_weight("L2GClassifier", "global_cls_weight", global_cls_weight)
        if not with_local and global_cls_weight <= 0:
            raise ValueError("with_local=False trains nothing unless global_cls_weight > 0")
        self.global_backbone = MODELS.build(backbone)
        self.global_head: CAMHead = MODELS.build(head)
        self.num_classes = self.global_head.num_classes
        self.with_local = with_local
        self.local_cls_weight = local_cls_weight
        self.global_cls_weight = global_cls_weight
        self.loss_cls: nn.Module = MODELS.build(loss_cls or dict(type="MultiLabelSoftMarginLoss"))
        self.test_cfg = CAMReadoutConfig.from_cfg(test_cfg)
        self.train_cfg = train_cfg
        measured = measure_feat_stride(
            self.extract_cam_logits, nn.ModuleList([self.global_backbone, self.global_head])
        )
        self.feat_stride = resolve_feat_stride(measured, feat_stride)
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
            self.loss_transfer: nn.Module = MODELS.build(
                loss_cfg_with_stride(loss_transfer, self.feat_stride, "loss_transfer")
            )
            self.loss_shape: Optional[nn.Module] = (
                MODELS.build(loss_cfg_with_stride(loss_shape, self.feat_stride, "loss_shape"))
                if loss_shape is not None
                else None
            )
        self._register_load_state_dict_pre_hook(refuse_misfit_shapes, with_module=True)

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
        return self.loss_cls(scores, labels)

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

    def inference(
        self,
        inputs: torch.Tensor,
        classes: Sequence[torch.Tensor],
        out_size: Optional[Tuple[int, int]] = None,
    ) -> List[torch.Tensor]:
        """The CAM readout (``self.test_cfg``) of normalised same-size images (:func:`read_cams`).

        Stage 2's and ``--tta``'s readout: every scale of ``test_cfg``, flipped
        when it says so.

        Args:
            inputs: normalised (B, 3, H, W), as the data preprocessor gives.
            classes: per image, the 0-based class indices to read (long (n_i,)).
            out_size: (H', W') of the CAMs; default the input size.

        Returns:
            Per image, float32 (n_i, H', W') maps in [0, 1).
        """
        with torch.no_grad():
            return read_cams(self.extract_cam_logits, inputs, classes, self.test_cfg, out_size)

    def predict(
        self, inputs: torch.Tensor, data_samples: Optional[List] = None, tta: bool = False
    ) -> List:
        """Adds ``pred_cam`` and ``pred_sem_seg`` (at ``ori_shape``) to each data sample.

        The plain test (validation, ``tools/test.py``, ``inference_model``)
        reads each image once, at the scale the pipeline gives, unflipped
        (:meth:`CAMReadoutConfig.one_pass`); ``tta=True`` (``L2GTTAModel``,
        ``tools/test.py --tta``) reads ``test_cfg``'s scales and flips, stage 2's
        readout. ``bg_thr``, ``interp``, ``score``, ``crf`` and ``fp16`` are
        ``test_cfg``'s in both. The images sharing an ``ori_shape`` share one
        forward pass per scale. The classes read are the sample's ``gt_label``,
        or without one those the global network predicts (sigmoid of the class
        score > 0.5, one more pass at the pipeline's scale).
        """
        from mmseg.structures import SegDataSample

        if data_samples is None:
            data_samples = [SegDataSample() for _ in range(inputs.shape[0])]
        readout = self.test_cfg if tta else self.test_cfg.one_pass()
        classes = self._classes(inputs, data_samples)
        groups: Dict[Tuple[int, int], List[int]] = {}
        for index, sample in enumerate(data_samples):
            size = tuple(sample.metainfo.get("ori_shape", inputs.shape[-2:]))[:2]
            groups.setdefault(size, []).append(index)
        for size, indices in groups.items():
            with torch.no_grad():
                group_cams = read_cams(
                    self.extract_cam_logits,
                    inputs[indices],
                    [classes[i] for i in indices],
                    readout,
                    size,
                )
            for index, cams in zip(indices, group_cams):
                self._set_prediction(data_samples[index], inputs[index], cams, classes[index])
        return data_samples

    def _set_prediction(
        self, sample: Any, inputs: torch.Tensor, cams: torch.Tensor, classes: torch.Tensor
    ) -> None:
        """Sets ``pred_cam`` and ``pred_sem_seg`` of one sample from its (n, H, W) CAMs."""
        direction = flip_direction(sample.metainfo)
        cams = undo_flip(cams, direction)
        size = tuple(cams.shape[-2:])
        image = None
        if self.test_cfg.crf is not None:
            preprocessor = self.data_preprocessor
            image = crf_image(
                inputs,
                size,
                mean=preprocessor.mean,
                std=preprocessor.std,
                bgr=not getattr(preprocessor, "_channel_conversion", True),
                flip=direction,
            )
        mask, _, _ = make_mask(
            cams.half(),
            classes,
            self.test_cfg.bg_thr,
            crf=self.test_cfg.crf,
            image_rgb=image,
            num_classes=self.num_classes + 1,
        )
        mask = torch.as_tensor(mask, device=cams.device).long()[None]
        full = cams.new_zeros((self.num_classes, *size))
        full[classes.to(cams.device)] = cams
        sample.set_data(
            dict(
                pred_cam=PixelData(data=full),
                seg_logits=PixelData(data=self._seg_logits(full)),
                pred_sem_seg=PixelData(data=mask),
            )
        )

    def _seg_logits(self, full_cams: torch.Tensor) -> torch.Tensor:
        """(C + 1, H, W) scores whose argmax is the thresholded mask, as mmseg's segmentors give.

        Channel 0 is the background, at ``bg_thr`` everywhere (the release's mask
        rule: a class needs a CAM above it); channels 1..C the CAMs at the float16
        precision the mask is made from (absent classes 0). The first channel wins
        ties, as background does in the mask. After a CRF the mask may differ.
        """
        cams16 = full_cams.half().float()
        background = cams16.new_full((1, *cams16.shape[1:]), float(self.test_cfg.bg_thr))
        return torch.cat([background, cams16])

    def _classes(self, inputs: torch.Tensor, data_samples: List) -> List[torch.Tensor]:
        """Per sample, the classes to read: its labels, else the predicted ones."""
        classes: List[Any] = [
            present_classes(s.gt_label.cpu()) if hasattr(s, "gt_label") else None
            for s in data_samples
        ]
        if any(c is None for c in classes):
            with torch.no_grad():
                scores = CAMHead.class_scores(self.extract_cam_logits(inputs), self.num_classes)
            predicted = (torch.sigmoid(scores) > 0.5).cpu()
            classes = [
                c if c is not None else present_classes(predicted[i]) for i, c in enumerate(classes)
            ]
        return classes
