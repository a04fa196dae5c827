# L2G with a tiny vision transformer for CPU runs on the synthetic data: mmpretrain's
# VisionTransformer with a custom arch (patch 8, 96 dims, 4 layers of 3 heads, 128 px
# position grid), its patch tokens as a feature map: output stride 8 (the patch size),
# the same 16 x 16 CAM grid at 128 px as PlainCNN. Any input size runs: mmpretrain
# (mmcv's PatchEmbed) zero-pads the bottom / right to a multiple of 8 and resizes the
# position embeddings (bicubic) to each input's patch grid.
#
# As PlainCNN, the synthetic runs may start the backbone from the plain-CAM model
# pretrained on the separate synthetic corpus
# (configs/pretrain/tinyvit_1xb8-1000it_synthetic-pretrain-128.py):
#   tools/train.py CONFIG --cfg-options model.backbone.init_cfg.type=Pretrained \
#       model.backbone.init_cfg.checkpoint=PRETRAIN_CKPT \
#       model.backbone.init_cfg.prefix=global_backbone.
_base_ = ["./l2g.py"]
num_classes = 4
embed_dims = 96
backbone = dict(
    type="mmpretrain.VisionTransformer",
    arch=dict(embed_dims=embed_dims, num_layers=4, num_heads=3, feedforward_channels=384),
    img_size=128,
    patch_size=8,
    out_type="featmap",
    with_cls_token=True,
    final_norm=True,
    drop_path_rate=0.0,
    # No init_cfg: mmpretrain's ViT init (truncated normal), no ImageNet weights here;
    # left out rather than None so that --cfg-options model.backbone.init_cfg.* (below,
    # and the benchmark's pretrained start) can add one.
)
model = dict(
    backbone=backbone,
    head=dict(type="CAMHead", in_channels=embed_dims, num_classes=num_classes),
)
