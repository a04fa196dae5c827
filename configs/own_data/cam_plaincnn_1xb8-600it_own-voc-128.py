# The plain-CAM baseline on your own data (own_voc.py): the global network alone.
_base_ = ["./l2g_plaincnn_1xb8-600it_own-voc-128.py"]
model = dict(with_local=False, global_cls_weight=1.0)
train_dataloader = dict(dataset=dict(pipeline={{_base_.cam_train_pipeline}}))
