# L2G with shape transfer and the tiny ViT: saliency maps are loaded and follow the global view.
_base_ = ["./l2g_tinyvit_1xb8-600it_synthetic-128.py"]
train_dataloader = dict(dataset=dict(pipeline={{_base_.sal_train_pipeline}}))
