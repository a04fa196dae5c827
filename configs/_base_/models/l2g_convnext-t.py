# L2G with mmpretrain's ConvNeXt-T (96-768 channels, depths 3-3-9-3), its last stage
# after the final LayerNorm applied to the map (gap_before_final_norm=False):
# output stride 32, a 14 x 14 CAM grid at 448 px.
# Why stride 32 and not 8 or 16: mmpretrain's ConvNeXt has no dilation option, so a finer
# stride means a modified network (a stride-1 last downsample with dilated 7x7 depthwise
# convolutions, or stage 3 alone); either feeds the ImageNet weights features at a scale
# they were not trained on, or drops the most semantic stage. The stock last stage uses
# the weights as trained and gives the same grid as Swin-T's last stage (the same
# 96-192-384-768 layout), so the two hierarchical backbones compare like for like; the
# readout's bicubic upsampling and scales 0.5-2 recover detail as for every backbone.
# Sizes: the 4x4 stem and the 2x2 downsamples do not pad (the grid is floor(H / 32):
# the last < 32 px of the bottom / right are not seen); inputs need >= 32 px.
_base_ = ["./l2g.py"]
num_classes = 20
backbone = dict(
    type="mmpretrain.ConvNeXt",
    arch="tiny",
    out_indices=(3,),
    gap_before_final_norm=False,
    drop_path_rate=0.1,
    init_cfg=dict(
        type="Pretrained",
        checkpoint="https://download.openmmlab.com/mmclassification/v0/convnext/"
        "convnext-tiny_32xb128_in1k_20221207-998cf3e9.pth",
        prefix="backbone.",
    ),
)
model = dict(
    backbone=backbone,
    head=dict(type="CAMHead", in_channels=768, num_classes=num_classes, bias=False),
)
