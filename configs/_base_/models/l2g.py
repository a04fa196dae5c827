# What every L2G model config shares (the release's losses, weights and readout);
# l2g_plaincnn.py, l2g_r50.py and l2g_resnet38.py add the backbone and the CAM head.
# The output stride the transfer losses' RoI alignment uses is measured from the
# backbone at build time (model.feat_stride=N pins it: a mismatch is refused).
model = dict(
    type="L2GClassifier",
    data_preprocessor=dict(type="L2GDataPreprocessor"),
    share_weights=False,
    with_local=True,
    loss_cls=dict(type="MultiLabelSoftMarginLoss", loss_weight=1.0),
    loss_transfer=dict(type="AttentionTransferLoss", loss_weight=10.0),
    loss_shape=dict(type="ShapeTransferLoss", loss_weight=10.0, threshold=0.001),
    local_cls_weight=1.0,
    global_cls_weight=0.0,
    test_cfg=dict(scales=(0.5, 1.0, 1.5, 2.0), flip=True, interp="bicubic", bg_thr=0.25),
)
