# L2G with shape transfer on your own data (own_voc.py): needs the saliency folder.
_base_ = ["./l2g_plaincnn_1xb8-600it_own-voc-128.py"]
train_dataloader = dict(dataset=dict(pipeline={{_base_.sal_train_pipeline}}))
