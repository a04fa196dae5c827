# The L2G paper's segmenter, DeepLab-v2 (ASPP-L: four dilated 3x3 classifiers, rates 6/12/18/24,
# summed; no image pooling), on a dilated ResNet-101 with output stride 8, trained on L2G pseudo
# masks of VOC 2012 train_aug and validated on the real VOC val ground truth.
#
# Backbone: mmseg's ResNetV1c-101 (deep 3x3 stem) with ImageNet weights
# open-mmlab://resnet101_v1c, exactly the stock DeepLab-v3+ config's, so the two configs differ
# only in the decode head. The original DeepLab-v2 used a Caffe ResNet-101 (7x7 stem) initialised
# from COCO, which mmseg does not ship. Data, pseudo-mask path and schedule: see the base config.
# Dense CRF at test time, as the L2G release offers (needs `pip install pydensecrf2`):
#   --cfg-options model.test_cfg.crf.iters=10   (deeplab-pytorch's VOC CRF settings)
_base_ = "./deeplabv3plus_r101-d8_4xb4-40k_voc12aug-512x512_l2g-pseudo.py"

model = dict(
    type="CRFEncoderDecoder",
    decode_head=dict(
        _delete_=True,
        type="DeepLabV2Head",
        in_channels=2048,
        in_index=3,
        num_classes=21,
        dilations=(6, 12, 18, 24),
        align_corners=False,
        loss_decode=dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=1.0),
    ),
    auxiliary_head=None,
    test_cfg=dict(mode="whole"),  # add crf=dict(...) for the dense CRF
)
