# The plain-CAM baseline with the tiny ViT: the global network alone, classification loss.
_base_ = ["./l2g_tinyvit_1xb8-600it_synthetic-128.py"]
model = dict(with_local=False, global_cls_weight=1.0)
train_dataloader = dict(dataset=dict(pipeline={{_base_.cam_train_pipeline}}))
