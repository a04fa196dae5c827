"""Pixel correlation module (PCM): refines a CAM with a feature affinity.

Introduced by SEAM (Wang et al., CVPR 2020) and used by the L2G release on
ResNet-38. Low-level features (the pre-activated inputs of ``b5`` and ``b6``,
512 and 1024 channels) are projected by 1x1 convolutions (to 64 and 128
channels), concatenated after the image resized to the CAM's size, and
embedded by a 1x1 convolution (195 -> 192 channels). The cosine similarity
of the embeddings, passed through ReLU and normalised so that each output
pixel's weights sum to one, is the affinity; the refined CAM at a pixel is
the affinity-weighted average of the CAM.

The L2G release applies the affinity to the 4096-channel features and then
its bias-free 1x1 classifier, and adds the result to the plain CAM. Both are
linear maps acting on different axes (pixels vs channels), so refining the
CAM logits here gives the same numbers; ``add_input=True`` (default) adds
the input CAM as the release does.
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS


@MODELS.register_module()
class PixelCorrelationModule(nn.Module):
    """Refines a (B, K, h, w) CAM with an affinity from features and the image.

    Args:
        in_channels: Channels of the feature maps it reads (release: 512 and
            1024, ResNet-38's ``conv4`` and ``conv5``).
        proj_channels: Output channels of each feature's 1x1 projection
            (release: 64 and 128).
        embed_channels: Channels of the embedding the affinity is computed
            from (release: 192).
        feat_indices: Which entries of the ``feats`` list passed to
            :meth:`forward` are read, one per ``in_channels`` entry.
        use_image: Concatenate the image (resized to the CAM) first, before the
            projected features (release: yes).
        proj_relu: ReLU after the projections (SEAM: yes; L2G release: no).
        detach_feats: Stop gradients into the features (release: yes).
        add_input: Return ``cam + refined`` (L2G release) instead of the
            refined CAM alone.
        eps: Added to norms and to the affinity row sums (release: 1e-5).
    """

    def __init__(
        self,
        in_channels: Sequence[int] = (512, 1024),
        proj_channels: Sequence[int] = (64, 128),
        embed_channels: int = 192,
        feat_indices: Sequence[int] = (0, 1),
        use_image: bool = True,
        proj_relu: bool = False,
        detach_feats: bool = True,
        add_input: bool = True,
        eps: float = 1e-5,
    ) -> None:
        super().__init__()
        if not len(in_channels) == len(proj_channels) == len(feat_indices):
            raise ValueError(
                "PixelCorrelationModule: in_channels, proj_channels and feat_indices need one "
                f"entry per feature map, got {len(in_channels)}, {len(proj_channels)} and "
                f"{len(feat_indices)}"
            )
        self.in_channels = tuple(in_channels)
        self.feat_indices = tuple(feat_indices)
        self.use_image = use_image
        self.proj_relu = proj_relu
        self.detach_feats = detach_feats
        self.add_input = add_input
        self.eps = eps
        self.projs = nn.ModuleList(
            nn.Conv2d(c_in, c_out, 1, bias=False) for c_in, c_out in zip(in_channels, proj_channels)
        )
        embed_in = (3 if use_image else 0) + sum(proj_channels)
        self.embed = nn.Conv2d(embed_in, embed_channels, 1, bias=False)
        self.init_weights()

    def init_weights(self) -> None:
        """Kaiming-normal projections and Xavier-uniform (gain 4) embedding, as released."""
        for proj in self.projs:
            nn.init.kaiming_normal_(proj.weight)
        nn.init.xavier_uniform_(self.embed.weight, gain=4)

    def _embedding(
        self, feats: Sequence[torch.Tensor], image: Optional[torch.Tensor], size: Sequence[int]
    ) -> torch.Tensor:
        """(B, E, h*w) per-pixel embeddings with unit L2 norm (up to ``eps``)."""
        if len(feats) <= max(self.feat_indices):
            raise ValueError(
                f"PixelCorrelationModule: got {len(feats)} feature maps, but feat_indices "
                f"{self.feat_indices} needs at least {max(self.feat_indices) + 1}"
            )
        parts = []
        if self.use_image:
            if image is None:
                raise ValueError("PixelCorrelationModule: use_image=True needs the input image")
            parts.append(F.interpolate(image, size, mode="bilinear", align_corners=True))
        for proj, index, channels in zip(self.projs, self.feat_indices, self.in_channels):
            feat = feats[index]
            if feat.shape[1] != channels:
                raise ValueError(
                    f"PixelCorrelationModule: feature map {index} has {feat.shape[1]} channels, "
                    f"expected {channels}"
                )
            if self.detach_feats:
                feat = feat.detach()
            if tuple(feat.shape[-2:]) != tuple(size):
                feat = F.interpolate(feat, size, mode="bilinear", align_corners=True)
            feat = proj(feat)
            parts.append(F.relu(feat) if self.proj_relu else feat)
        embedding = self.embed(torch.cat(parts, dim=1)).flatten(2)
        return embedding / (embedding.norm(dim=1, keepdim=True) + self.eps)

    def affinity(
        self,
        feats: Sequence[torch.Tensor],
        image: Optional[torch.Tensor],
        size: Sequence[int],
    ) -> torch.Tensor:
        """The (B, h*w, h*w) affinity; row j holds output pixel j's weights.

        Args:
            feats: Feature maps (resized to ``size`` when they differ).
            image: (B, 3, H, W) input image, or None with ``use_image=False``.
            size: (h, w) of the CAM.

        Returns:
            Non-negative weights; each row sums to 1 (up to ``eps``).
        """
        embedding = self._embedding(feats, image, size)
        similarity = F.relu(torch.bmm(embedding.transpose(1, 2), embedding))
        return similarity / (similarity.sum(dim=2, keepdim=True) + self.eps)

    def refine(
        self,
        cam: torch.Tensor,
        feats: Sequence[torch.Tensor],
        image: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """The affinity-weighted average of ``cam`` (B, K, h, w)."""
        batch, channels, height, width = cam.shape
        aff = self.affinity(feats, image, (height, width))
        refined = torch.bmm(cam.flatten(2), aff.transpose(1, 2))
        return refined.view(batch, channels, height, width)

    def forward(
        self,
        cam: torch.Tensor,
        feats: Sequence[torch.Tensor],
        image: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """Refines the CAM.

        Args:
            cam: (B, K, h, w) CAM logits.
            feats: Feature maps; ``feat_indices`` picks the ones read.
            image: (B, 3, H, W) normalised input image.

        Returns:
            (B, K, h, w): ``cam + refined`` with ``add_input``, else ``refined``.
        """
        refined = self.refine(cam, feats, image)
        return cam + refined if self.add_input else refined
