# L2G with mmpretrain's SwinTransformer, Swin-T (96 dims, depths 2-2-6-2, window 7), its
# last stage (768 channels after its LayerNorm): output stride 32, a 14 x 14 CAM grid at
# 448 px. Arbitrary sizes: the patch embedding and patch merging pad to even sizes,
# the windowed attention pads each map to a multiple of the window, and
# pad_small_map=True pads a map smaller than the window (the last stage of any input
# under 224 px, e.g. the readout's scale 0.5) instead of failing mmpretrain's assertion.
_base_ = ["./l2g.py"]
num_classes = 20
backbone = dict(
    type="mmpretrain.SwinTransformer",
    arch="tiny",
    img_size=448,
    out_indices=(3,),
    pad_small_map=True,
    drop_path_rate=0.1,
    init_cfg=dict(
        type="Pretrained",
        checkpoint="https://download.openmmlab.com/mmclassification/v0/swin-transformer/"
        "swin_tiny_224_b16x64_300e_imagenet_20210616_090925-66df6be6.pth",
        prefix="backbone.",
    ),
)
model = dict(
    backbone=backbone,
    head=dict(type="CAMHead", in_channels=768, num_classes=num_classes, bias=False),
)
