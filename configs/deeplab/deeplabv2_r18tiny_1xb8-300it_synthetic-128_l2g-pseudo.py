# The L2G paper's segmenter, DeepLab-v2 (four dilated 3x3 classifiers summed, no image
# pooling), on the small ResNetV1c-18 of the synthetic DeepLab-v3+ config: same data
# (pseudo masks for training, real ground truth for validation), backbone and schedule.
# Pseudo-mask path and dense CRF: see the base config.
_base_ = "./deeplabv3plus_r18tiny_1xb8-300it_synthetic-128_l2g-pseudo.py"

model = dict(
    decode_head=dict(
        _delete_=True,
        type="DeepLabV2Head",
        in_channels=64,
        in_index=2,
        num_classes={{_base_.num_classes}},
        dilations=(2, 4, 6, 8),  # DeepLab-v2's (6, 12, 18, 24) scaled to a 16 x 16 feature map
        align_corners=False,
        loss_decode=dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=1.0),
    ),
    auxiliary_head=None,
)
