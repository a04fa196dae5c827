# Stage 3 on your own data (own_voc.py gives the data root and the classes): the stock
# DeepLab-v3+ of the synthetic config trained on the pseudo masks in
# DATA_ROOT/l2g_pseudo/masks (tools/gen_pseudo.py ... --out-dir DATA_ROOT/l2g_pseudo),
# validated on DATA_ROOT/SegmentationClass.
_base_ = [
    "../deeplab/deeplabv3plus_r18tiny_1xb8-300it_synthetic-128_l2g-pseudo.py",
    "./own_voc.py",
]
data_root = _base_.own_data_root
num_classes = len(_base_.own_classes)
# The base's synthetic palette is dropped: mmseg gives the classes its default colours.
metainfo = dict(classes=_base_.own_classes, _delete_=True)
model = dict(
    decode_head=dict(num_classes=num_classes), auxiliary_head=dict(num_classes=num_classes)
)
train_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))
val_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))
test_dataloader = val_dataloader
