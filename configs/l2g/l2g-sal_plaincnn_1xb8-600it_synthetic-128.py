# L2G with shape transfer: saliency maps are loaded and follow the global view.
_base_ = ["./l2g_plaincnn_1xb8-600it_synthetic-128.py"]
train_dataloader = dict(dataset=dict(pipeline={{_base_.sal_train_pipeline}}))
