# The plain-CAM baseline on coco14: the global network alone with a classification loss.
_base_ = ["./l2g_resnet38_1xb3-10e_coco14-448.py"]
model = dict(with_local=False, global_cls_weight=1.0)
train_dataloader = dict(dataset=dict(pipeline={{_base_.cam_train_pipeline}}))
