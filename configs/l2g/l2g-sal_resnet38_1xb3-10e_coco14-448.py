# L2G with shape transfer: saliency maps (data_prefix.sal_path) follow the global view.
_base_ = ["./l2g_resnet38_1xb3-10e_coco14-448.py"]
train_dataloader = dict(dataset=dict(pipeline={{_base_.sal_train_pipeline}}))
