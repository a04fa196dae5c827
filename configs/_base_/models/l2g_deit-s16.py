# L2G with mmpretrain's VisionTransformer, DeiT-S/16 (ViT-S/16: 384 dims, 12 layers of 6
# heads), its patch tokens after the final LayerNorm as a feature map (out_type='featmap'):
# output stride 16, a 28 x 28 CAM grid at 448 px.
# Any input size runs without a wrapper: mmpretrain 1.2 (mmcv's PatchEmbed, padding='corner')
# zero-pads the bottom / right of an input that is not a multiple of 16 (ceil(H / 16) x
# ceil(W / 16) tokens, the last row / column overhanging the image by < 16 px, as a CNN's
# ceil-division grid does) and resizes the position embeddings (bicubic) to each input's
# token grid in every forward pass, so the readout's scales 0.5-2 need nothing either.
# img_size=448: the 14 x 14 ImageNet position embeddings are resized once, when the
# checkpoint loads, to the 448 px training grid.
_base_ = ["./l2g.py"]
num_classes = 20
backbone = dict(
    type="mmpretrain.VisionTransformer",
    arch="deit-small",
    img_size=448,
    patch_size=16,
    out_type="featmap",
    with_cls_token=True,
    final_norm=True,
    drop_path_rate=0.1,
    init_cfg=dict(
        type="Pretrained",
        checkpoint="https://download.openmmlab.com/mmclassification/v0/deit/"
        "deit-small_pt-4xb256_in1k_20220218-9425b9bb.pth",
        prefix="backbone.",
    ),
)
model = dict(
    backbone=backbone,
    head=dict(type="CAMHead", in_channels=384, num_classes=num_classes, bias=False),
)
