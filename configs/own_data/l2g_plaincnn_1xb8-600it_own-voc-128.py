# L2G (PlainCNN, 128 px, the synthetic schedule) on your own VOC-layout data: own_voc.py
# sets the data root and the classes. The backbone starts random unless a pretrained
# one is given (see configs/_base_/models/l2g_plaincnn.py), e.g.
#   --cfg-options model.backbone.init_cfg.type=Pretrained \
#       model.backbone.init_cfg.checkpoint=CKPT model.backbone.init_cfg.prefix=global_backbone.
_base_ = ["../l2g/l2g_plaincnn_1xb8-600it_synthetic-128.py", "./own_voc.py"]
data_root = _base_.own_data_root
metainfo = dict(classes=_base_.own_classes)
model = dict(head=dict(num_classes=len(_base_.own_classes) - 1))
own_dataset = dict(
    data_root=data_root,
    metainfo=metainfo,
    data_prefix=dict(
        img_path="JPEGImages", seg_map_path="SegmentationClass", sal_path=_base_.own_saliency_dir
    ),
)
train_dataloader = dict(dataset=own_dataset)
val_dataloader = dict(dataset=own_dataset)
test_dataloader = val_dataloader
